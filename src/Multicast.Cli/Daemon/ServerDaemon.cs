using System.Text.Json.Nodes;
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
        using var runtime = new DaemonRuntime("multis", () => Stats(forwarder, running), stopping);
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
            using IServerEngine engine = running = EngineFactory.CreateServer(options.Engine, iface, forwarder, log, options.Idle, options.Nice, options.CaptureBytes);
            engine.Apply(table);
            WarnDirectedBroadcasts(table, iface, log);
            log.LogInformation("multis started: interface {Interface}, engine {Engine}, {Groups} groups from {Path}",
                iface, engine.Name, config.Groups.Count, configPath);
            runtime.Serve(
                apply: () =>
                {
                    ServerConfig next = LoadOrEmpty(configPath, log);
                    var nextTable = new FanoutTable(next, forwarder.Table);
                    engine.Apply(nextTable);
                    WarnDirectedBroadcasts(nextTable, iface, log);
                    return $"{configPath}: {next.Groups.Count} groups";
                },
                list: () => List(forwarder.Counters),
                stats: () => Stats(forwarder, engine, query: true).ToJsonString(),
                run: engine.Run,
                options);
            return 0;
        });
    }

    /// <summary>
    /// A member that is a subnet broadcast of the interface is accepted but can never get a copy: say so once per load.
    /// (On Windows the interface is an Npcap device name, which matches no adapter name: no subnets, no warning.)
    /// </summary>
    private static void WarnDirectedBroadcasts(FanoutTable table, string iface, ILogger log)
    {
        foreach ((uint group, uint member, LocalSubnet subnet) in DirectedBroadcast.Find(table, InterfaceLookup.Ipv4Subnets(iface)))
            log.LogWarning("group {Group}: member {Member} is the broadcast address of {Subnet} on {Interface}; the kernel refuses unicast copies to it",
                IpAddressV4.Format(group), IpAddressV4.Format(member), subnet, iface);
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

    /// <param name="query">A control-socket query (multis_admin -P, the benchmark): its hop latency also covers the time
    /// since the previous query.</param>
    public static JsonObject Stats(ServerForwarder forwarder, IServerEngine? engine, bool query = false)
    {
        var counters = new JsonObject();
        foreach ((string name, long value) in forwarder.Counters.Snapshot()) counters[name] = value;
        counters["capture_drops"] = engine?.CaptureDrops ?? 0;
        counters["priority_boosts"] = engine?.PriorityBoosts ?? 0;
        var groups = new JsonArray();
        foreach (FanoutGroup g in forwarder.Table.Groups)
        {
            var members = new JsonArray();
            for (int i = 0; i < g.Members.Length; i++)
                members.Add(new JsonObject
                {
                    ["member_ip"] = IpAddressV4.Format(g.Members[i]),
                    ["copies_sent"] = Volatile.Read(ref g.MemberCopies[i]),
                    ["copies_dropped"] = Volatile.Read(ref g.MemberDrops[i]),
                });
            groups.Add(new JsonObject
            {
                ["group_ip"] = IpAddressV4.Format(g.GroupIp),
                ["packets"] = Volatile.Read(ref g.Counters.Packets),
                ["bytes"] = Volatile.Read(ref g.Counters.Bytes),
                ["copies_sent"] = Volatile.Read(ref g.Counters.CopiesSent),
                ["copy_bytes"] = Volatile.Read(ref g.Counters.CopyBytes),
                ["copies_dropped"] = Volatile.Read(ref g.Counters.CopiesDropped),
                ["members"] = members,
            });
        }
        return new JsonObject
        {
            ["capture_buffer_bytes"] = engine?.CaptureBufferBytes ?? 0,
            ["hop_latency_us"] = query ? engine?.HopLatency?.Query() : engine?.HopLatency?.Snapshot(),
            ["counters"] = counters,
            ["groups"] = groups,
        };
    }
}
