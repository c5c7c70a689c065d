using System.Text;
using System.Text.Json;
using Multicast.Core.DataPlane;
using Multicast.Core.Packets;
using Multicast.Core.Tables;

namespace Multicast.Linux.Nftables;

/// <summary>
/// The client's fast path: an nftables netdev-ingress rule per route restores a marked copy in the kernel (destination
/// = group, group port where configured, TOS 0) before the IP stack sees it, so the stack delivers it to every local
/// socket joined to the group: no copy to user space, no wake-up, no second send. Whole datagrams only: a fragment
/// carries no UDP port (and ingress runs before reassembly), so fragments stay marked, are dropped by the copy-drop
/// rule and are restored by the engine in user space, which captures nothing else. Malformed packets fail nftables'
/// own header validation and are not rewritten.
/// </summary>
public sealed class KernelDelivery : IDisposable
{
    public const string TableName = "multicast_proxy_deliver";
    private readonly string _interfaceName;
    private bool _installed;
    // Replacing the table resets its counters: what they held is carried over (packets counted between the read and
    // the replacement are missed by the statistics, never by the receivers).
    private readonly Dictionary<string, (long Packets, long Bytes)> _carried = new();

    // Null where the native shim is missing: the counters are then read by running nft (cached, see CounterMaxAge).
    private readonly NftCounterReader? _reader;

    public KernelDelivery(string interfaceName)
    {
        _interfaceName = interfaceName;
        try { _reader = new NftCounterReader(); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or Ring.ShimException) { _reader = null; }
    }

    /// <summary>Replaces the rules atomically with one per route of <paramref name="table"/>.</summary>
    public void Apply(ClientTable table)
    {
        if (_installed)
            foreach ((string key, (long p, long b)) in ReadCounters(fresh: true)) _carried[key] = (p, b);
        Nft.Apply(Script(_interfaceName, table.Routes, rulesOnly: _installed), "install the kernel delivery rules");
        _installed = true;
    }

    /// <summary>
    /// Exact ports before any-port entries, as the user-space lookup does; a rewritten packet no longer carries the
    /// marker, so no later rule matches it again. The restored packet is also marked as link-layer multicast (it came
    /// to this host's own MAC): UDP's early demux then hands it to the joined socket with that socket's cached route,
    /// as it does native multicast. Left as "host", every copy took a full route lookup that allocates a multicast
    /// input route and frees it through RCU (80,000 RCU softirqs in a 20 s bench run with 4 members instead of ~4,000,
    /// most of them run by ksoftirqd, which waits behind the data-plane threads).
    /// </summary>
    /// <param name="rulesOnly">
    /// Swap the rules of the existing chain (flush + add in one transaction, see <see cref="Nft.AppendChainReset"/>):
    /// datagrams that missed the rules would stay marked, and the copy-drop rule would drop them.
    /// </param>
    public static string Script(string interfaceName, IEnumerable<ClientRoute> routes, bool rulesOnly = false)
    {
        var s = new StringBuilder();
        Nft.AppendChainReset(s, "netdev", TableName, "ingress",
            $"type filter hook ingress device \"{interfaceName}\" priority 0; policy accept;", exists: rulesOnly);
        foreach (ClientRoute r in routes.OrderBy(r => r.ServerPort == 0).ThenBy(r => r.ServerIp).ThenBy(r => r.ServerPort))
        {
            string port = r.ServerPort != 0 ? $"udp dport {r.ServerPort}" : "udp dport != 0";
            string setPort = r.GroupPort != 0 && r.GroupPort != r.ServerPort ? $" udp dport set {r.GroupPort}" : "";
            s.AppendLine($"add rule netdev {TableName} ingress meta pkttype host ip saddr {IpAddressV4.Format(r.ServerIp)} " +
                         $"ip dscp 0x{ProxyMarker.Tos >> 2:x2} ip frag-off & 0x3fff == 0 {port} counter " +
                         $"ip daddr set {IpAddressV4.Format(r.GroupIp)}{setPort} ip dscp set cs0 meta pkttype set multicast comment \"{RouteKey(r.ServerIp, r.ServerPort)}\"");
        }
        return s.ToString();
    }

    // Without the netlink reader, reading the counters runs nft (a process start, ~10 ms of CPU): the once-a-second
    // stats file must not pay that every time on a busy member, so such a reading is reused for CounterMaxAge.
    private static readonly TimeSpan CounterMaxAge = TimeSpan.FromSeconds(2);
    private IReadOnlyDictionary<string, (long Packets, long Bytes)>? _lastReading;
    private DateTime _lastReadUtc;
    private readonly object _readLock = new();

    /// <summary>Packets and bytes the kernel restored per route, keyed by <see cref="RouteKey"/>.</summary>
    public IReadOnlyDictionary<string, (long Packets, long Bytes)> ReadCounters(bool fresh = false)
    {
        lock (_readLock)
        {
            if (_reader is null && !fresh && _lastReading is not null && DateTime.UtcNow - _lastReadUtc < CounterMaxAge) return _lastReading;
            var result = new Dictionary<string, (long Packets, long Bytes)>(_carried);
            if (_installed)
            {
                IReadOnlyDictionary<string, (long Packets, long Bytes)> rules = _reader is not null
                    ? _reader.Read(NftCounterReader.NetdevFamily, TableName, "ingress")
                    : ParseCounters(Nft.Query(["-j", "list", "table", "netdev", TableName], "read the kernel delivery counters"));
                foreach ((string key, (long p, long b)) in rules)
                    result[key] = result.TryGetValue(key, out var c) ? (c.Packets + p, c.Bytes + b) : (p, b);
            }
            _lastReading = result;
            _lastReadUtc = DateTime.UtcNow;
            return result;
        }
    }

    public static IReadOnlyDictionary<string, (long Packets, long Bytes)> ParseCounters(string json)
    {
        var result = new Dictionary<string, (long, long)>();
        using JsonDocument doc = JsonDocument.Parse(json);
        foreach (JsonElement item in doc.RootElement.GetProperty("nftables").EnumerateArray())
        {
            if (!item.TryGetProperty("rule", out JsonElement rule) || !rule.TryGetProperty("comment", out JsonElement comment)) continue;
            foreach (JsonElement expr in rule.GetProperty("expr").EnumerateArray())
            {
                if (!expr.TryGetProperty("counter", out JsonElement c)) continue;
                result[comment.GetString()!] = (c.GetProperty("packets").GetInt64(), c.GetProperty("bytes").GetInt64());
            }
        }
        return result;
    }

    public static string RouteKey(uint serverIp, ushort serverPort) => $"{IpAddressV4.Format(serverIp)}:{serverPort}";

    public void Dispose()
    {
        if (!_installed) { _reader?.Dispose(); return; }
        // Kept for the final statistics, written after the rules are gone.
        try { foreach ((string key, (long p, long b)) in ReadCounters(fresh: true)) _carried[key] = (p, b); }
        catch (Exception e) when (e is InvalidOperationException or JsonException) { }
        _installed = false;
        try { Nft.Apply($"delete table netdev {TableName}\n", "remove the kernel delivery rules"); }
        catch (InvalidOperationException) { /* already gone: nothing to undo */ }
        _reader?.Dispose();
    }
}
