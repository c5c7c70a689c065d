using System.Text.Json;
using Microsoft.Extensions.Logging;
using Multicast.Core.Config;
using Multicast.Core.DataPlane;
using Multicast.Core.Engines;
using Multicast.Core.Packets;
using Multicast.Core.Tables;
using Multicast.Linux;

namespace Multicast.Cli.Daemon;

/// <summary>`multis_admin -R`: the server in the foreground.</summary>
public static class ServerDaemon
{
    /// <param name="stopping">Cancelled by the Windows service host on stop; signals stop it everywhere.</param>
    public static int Run(DaemonOptions options, CancellationToken stopping = default)
    {
        if (options.Delivery is not null) throw new UsageException("--delivery is a client option (multic_admin -R)");
        options.CheckHost();
        var forwarder = new ServerForwarder();
        IServerEngine? running = null;
        using var runtime = new DaemonRuntime("multis", w => WriteStats(w, forwarder, running), stopping);
        return runtime.LogFailures(() =>
        {
            ILogger log = runtime.Logger;
            string configPath = Path.Combine(runtime.ConfigDirectory, ServerConfig.FileName);
            ServerConfig config = LoadOrEmpty(configPath, log);
            // Windows has no /proc/net/route: the NIC holding the default gateway, as its Npcap device.
            string iface = options.Interface ?? (OperatingSystem.IsWindows()
                ? Multicast.Pcap.PcapDevices.DefaultWindowsInterface() : InterfaceLookup.DefaultInterface());
            var table = new FanoutTable(config, null);
            forwarder.Publish(table);
            using IServerEngine engine = running = EngineFactory.CreateServer(options.Engine, iface, forwarder, log, options.Idle, options.Nice, options.CaptureBytes, options.StandbyMicros);
            engine.Apply(table);
            runtime.WatchInterface(iface);
            WarnAboutMembers(table, iface, log);
            log.LogInformation("multis started: interface {Interface}, engine {Engine}, {Groups} groups from {Path}",
                iface, engine.Name, config.Groups.Count, configPath);
            runtime.Serve(
                apply: () =>
                {
                    ServerConfig next = LoadOrEmpty(configPath, log);
                    var nextTable = new FanoutTable(next, forwarder.Table);
                    engine.Apply(nextTable);
                    WarnAboutMembers(nextTable, iface, log);
                    return $"{configPath}: {next.Groups.Count} groups";
                },
                list: () => List(forwarder.Counters),
                stats: () => DaemonRuntime.JsonObjectText(w => WriteStats(w, forwarder, engine, query: true)),
                run: engine.Run,
                options);
            return 0;
        });
    }

    /// <summary>
    /// A member that is a subnet broadcast of the interface is accepted but can never get a copy: say so once per load.
    /// (On Windows the interface is an Npcap device name, which matches no adapter name: no subnets, no warning.)
    /// </summary>
    /// <remarks>Also: more on-link members than the host's neighbour table holds (<see cref="NeighbourBudget"/>).</remarks>
    private static void WarnAboutMembers(FanoutTable table, string iface, ILogger log)
    {
        List<LocalSubnet> subnets = InterfaceLookup.Ipv4Subnets(iface);
        foreach ((uint group, uint member, LocalSubnet subnet) in DirectedBroadcast.Find(table, subnets))
            log.LogWarning("group {Group}: member {Member} is the broadcast address of {Subnet} on {Interface}; the kernel refuses unicast copies to it",
                IpAddressV4.Format(group), IpAddressV4.Format(member), subnet, iface);
        (int soft, int hard) = NeighbourTableLimits.Read();
        if (NeighbourBudget.Warning(NeighbourBudget.OnLinkMembers(table, subnets), iface, soft, hard) is string warning)
            log.LogWarning("{Warning}", warning);
    }

    private static ServerConfig LoadOrEmpty(string path, ILogger log)
    {
        if (File.Exists(path)) return ServerConfig.Load(path);
        log.LogWarning("{Path} does not exist: starting with no groups (add them with multis_admin -A)", path);
        return ServerConfig.Empty;
    }

    /// <summary>The `list` reply, in the layout server_reload_list prints (the original's four counters).</summary>
    private static string List(ServerCounters c) =>
        $"recv_pkt:\t{Volatile.Read(ref c.Captured)}\n" +
        $"drop_pkt:\t{Volatile.Read(ref c.DroppedNoGroup) + Volatile.Read(ref c.DroppedMalformed) + Volatile.Read(ref c.DroppedNotUdp) + Volatile.Read(ref c.DroppedNoMembers)}\n" +
        $"forward_pkt:\t{Volatile.Read(ref c.Forwarded)}\n" +
        $"fwd_point_pkt:\t{Volatile.Read(ref c.CopiesSent)}\n";

    /// <summary>
    /// The server's stats: counters, then every group and member. Written straight into the stats file's buffer: with
    /// thousands of members, anything allocated per member every second would feed the collector that pauses the data plane.
    /// </summary>
    /// <param name="query">A control-socket query (multis_admin -P, the benchmark): its hop latency also covers the time
    /// since the previous query.</param>
    public static void WriteStats(Utf8JsonWriter w, ServerForwarder forwarder, IServerEngine? engine, bool query = false)
    {
        w.WriteNumber("capture_buffer_bytes"u8, engine?.CaptureBufferBytes ?? 0);
        w.WritePropertyName("hop_latency_us"u8);
        if (engine?.HopLatency is HopLatency hop) (query ? hop.Query() : hop.Snapshot()).WriteTo(w);
        else w.WriteNullValue();
        w.WriteStartObject("counters"u8);
        foreach ((string name, long value) in forwarder.Counters.Snapshot()) w.WriteNumber(name, value);
        w.WriteNumber("capture_drops"u8, engine?.CaptureDrops ?? 0);
        w.WriteNumber("priority_boosts"u8, engine?.PriorityBoosts ?? 0);
        w.WriteNumber("tx_full_waits"u8, engine?.TxFullWaits ?? 0);
        w.WriteNumber("standby_takeovers"u8, engine?.StandbyTakeovers ?? 0);
        w.WriteNumber("send_errors"u8, engine?.SendErrors ?? 0);
        w.WriteEndObject();
        Span<char> ip = stackalloc char[IpAddressV4.MaxFormattedLength];
        w.WriteStartArray("groups"u8);
        foreach (FanoutGroup g in forwarder.Table.Groups)
        {
            w.WriteStartObject();
            w.WriteString("group_ip"u8, ip[..IpAddressV4.Format(g.GroupIp, ip)]);
            w.WriteNumber("packets"u8, Volatile.Read(ref g.Counters.Packets));
            w.WriteNumber("bytes"u8, Volatile.Read(ref g.Counters.Bytes));
            w.WriteNumber("copies_sent"u8, Volatile.Read(ref g.Counters.CopiesSent));
            w.WriteNumber("copy_bytes"u8, Volatile.Read(ref g.Counters.CopyBytes));
            w.WriteNumber("copies_dropped"u8, Volatile.Read(ref g.Counters.CopiesDropped));
            w.WriteStartArray("members"u8);
            for (int i = 0; i < g.Members.Length; i++)
            {
                w.WriteStartObject();
                w.WriteString("member_ip"u8, ip[..IpAddressV4.Format(g.Members[i], ip)]);
                w.WriteNumber("copies_sent"u8, Volatile.Read(ref g.MemberCopies[i]));
                w.WriteNumber("copies_dropped"u8, Volatile.Read(ref g.MemberDrops[i]));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }
}
