using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Multicast.Core.Config;
using Multicast.Core.DataPlane;
using Multicast.Core.Engines;
using Multicast.Core.Packets;
using Multicast.Core.Tables;
using Multicast.Linux;
using Multicast.Linux.Nftables;
using Multicast.Linux.Sockets;

namespace Multicast.Cli.Daemon;

/// <summary>`multic_admin -R`: the client in the foreground.</summary>
public static class ClientDaemon
{
    /// <summary>
    /// Restored packets are looped back to local sockets by the kernel; TTL 0 makes it drop the outgoing
    /// original, so nothing leaves the host.
    /// </summary>
    private const byte DeliveryTtl = 0;

    public static int Run(DaemonOptions options)
    {
        var forwarder = new ClientForwarder(DeliveryTtl);
        IClientEngine? running = null;
        using var runtime = new DaemonRuntime("multic", () => Stats(forwarder, running));
        ILogger log = runtime.Logger;
        string configPath = Path.Combine(runtime.ConfigDirectory, ClientConfig.FileName);
        ClientConfig config = File.Exists(configPath) ? ClientConfig.Load(configPath) : ClientConfig.Empty;
        if (!File.Exists(configPath)) log.LogWarning("{Path} does not exist: starting with no servers (add them with multic_admin -A)", configPath);
        string iface = options.Interface ?? InterfaceLookup.DefaultInterface();
        var table = new ClientTable(config, null);
        forwarder.Publish(table);
        using var dropRule = new CopyDropRule(iface);
        dropRule.Apply(table.Servers);
        using var delivery = new RawSocketTxSlots(capacity: 64, multicastInterface: iface);
        using IClientEngine engine = running = EngineFactory.CreateClient(options.Engine, iface, forwarder, delivery, log, options.Idle);
        engine.Apply(table);
        log.LogInformation("multic started: interface {Interface}, engine {Engine}, {Routes} servers from {Path}",
            iface, engine.Name, config.Routes.Count, configPath);
        runtime.Serve(
            apply: () =>
            {
                ClientConfig next = File.Exists(configPath) ? ClientConfig.Load(configPath) : ClientConfig.Empty;
                var nextTable = new ClientTable(next, forwarder.Table);
                // The drop rule must cover a server before its copies are restored (else local sockets get the
                // copy too) and may only stop covering it after: apply the union, switch, then narrow.
                dropRule.Apply(nextTable.Servers.Union(forwarder.Table.Servers));
                engine.Apply(nextTable);
                dropRule.Apply(nextTable.Servers);
                return $"{configPath}: {next.Routes.Count} servers";
            },
            list: () => List(forwarder.Counters),
            stats: () => Stats(forwarder, engine).ToJsonString(),
            run: engine.Run);
        log.LogInformation("multic stopped");
        return 0;
    }

    /// <summary>The `list` reply, in the layout client_reload_list prints (the original's three counters).</summary>
    private static string List(ClientCounters c) =>
        $"recv_pkt:\t{Volatile.Read(ref c.Received)}\n" +
        $"drop_pkt:\t{Volatile.Read(ref c.Received) - Volatile.Read(ref c.Delivered)}\n" +
        $"forward_pkt:\t{Volatile.Read(ref c.Delivered)}\n";

    public static JsonObject Stats(ClientForwarder forwarder, IClientEngine? engine)
    {
        var counters = new JsonObject();
        foreach ((string name, long value) in forwarder.Counters.Snapshot()) counters[name] = value;
        counters["capture_drops"] = engine?.CaptureDrops ?? 0;
        var routes = new JsonArray();
        foreach (ClientRoute r in forwarder.Table.Routes)
            routes.Add(new JsonObject
            {
                ["server_ip"] = IpAddressV4.Format(r.ServerIp),
                ["server_port"] = r.ServerPort,
                ["group_ip"] = IpAddressV4.Format(r.GroupIp),
                ["group_port"] = r.GroupPort,
                ["packets"] = Volatile.Read(ref r.Packets),
                ["bytes"] = Volatile.Read(ref r.Bytes),
            });
        return new JsonObject { ["counters"] = counters, ["routes"] = routes };
    }
}
