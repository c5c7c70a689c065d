using System.Text;
using Multicast.Core.DataPlane;
using Multicast.Core.Packets;

namespace Multicast.Linux.Nftables;

/// <summary>
/// On a member, the unicast copy must not reach local sockets after the client has restored it (a duplicate for
/// apps bound to 0.0.0.0:port, an ICMP port-unreachable to the server otherwise). Packet sockets see frames before
/// netfilter, so an nftables prerouting drop of marked packets from configured servers removes the copy from the
/// stack without hiding it from the client. The rule is replaced atomically on every config change.
/// </summary>
public sealed class CopyDropRule : IDisposable
{
    public const string TableName = "multicast_proxy_client";
    private readonly string _interfaceName;
    private bool _installed;

    public CopyDropRule(string interfaceName) => _interfaceName = interfaceName;

    public void Apply(IEnumerable<uint> servers)
    {
        string[] list = servers.Select(IpAddressV4.Format).ToArray();
        var script = new StringBuilder();
        Nft.AppendChainReset(script, "ip", TableName, "prerouting", "type filter hook prerouting priority raw; policy accept;", _installed);
        if (list.Length > 0)
            script.AppendLine($"add rule ip {TableName} prerouting iifname \"{_interfaceName}\" ip dscp 0x{ProxyMarker.Tos >> 2:x2} ip saddr {{ {string.Join(", ", list)} }} drop");
        Nft.Apply(script.ToString(), "install the copy-drop rule");
        _installed = true;
    }

    public void Dispose()
    {
        if (!_installed) return;
        _installed = false;
        try { Nft.Apply($"delete table ip {TableName}\n", "remove the copy-drop rule"); }
        catch (InvalidOperationException) { /* already gone: nothing to undo */ }
    }
}
