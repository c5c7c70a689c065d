using System.Text.Json;
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
        if (options.StandbyMicros is not null) throw new UsageException("--standby is a server option (multis_admin -R)");
        options.CheckHost();
        ClientForwarder forwarder = null!;
        KernelDelivery? kernel = null;
        IClientEngine? running = null;
        RawSocketTxSlots? delivering = null;
        using var runtime = new DaemonRuntime("multic", w => WriteStats(w, forwarder, running, kernel, delivering));
        return runtime.LogFailures(() =>
        {
            ILogger log = runtime.Logger;
            string configPath = Path.Combine(runtime.ConfigDirectory, ClientConfig.FileName);
            ClientConfig config = File.Exists(configPath) ? ClientConfig.Load(configPath) : ClientConfig.Empty;
            if (!File.Exists(configPath)) log.LogWarning("{Path} does not exist: starting with no servers (add them with multic_admin -A)", configPath);
            string iface = options.Interface ?? InterfaceLookup.DefaultInterface();
            var table = new ClientTable(config, null);
            using var dropRule = new CopyDropRule(iface);
            dropRule.Apply(table.Servers);
            using KernelDelivery? kernelDelivery = kernel = StartKernelDelivery(options.Delivery, iface, table, log);
            forwarder = new ClientForwarder(DeliveryTtl, fragmentsOnly: kernel is not null);
            forwarder.Publish(table);
            using RawSocketTxSlots delivery = delivering = new RawSocketTxSlots(capacity: 64, multicastInterface: iface);
            using IClientEngine engine = running = EngineFactory.CreateClient(options.Engine, iface, forwarder, delivery, log, options.Idle, options.Nice, options.CaptureBytes);
            engine.Apply(table);
            runtime.WatchInterface(iface);
            log.LogInformation("multic started: interface {Interface}, engine {Engine}, delivery {Delivery}, {Routes} servers from {Path}",
                iface, engine.Name, kernel is null ? DeliveryRaw : DeliveryNft, config.Routes.Count, configPath);
            runtime.Serve(
                apply: () =>
                {
                    ClientConfig next = File.Exists(configPath) ? ClientConfig.Load(configPath) : ClientConfig.Empty;
                    var nextTable = new ClientTable(next, forwarder.Table);
                    // The drop rule must cover a server before its copies are restored (else local sockets get the
                    // copy too) and may only stop covering it after: apply the union, switch, then narrow.
                    dropRule.Apply(nextTable.Servers.Union(forwarder.Table.Servers));
                    engine.Apply(nextTable);
                    kernel?.Apply(nextTable);
                    dropRule.Apply(nextTable.Servers);
                    return $"{configPath}: {next.Routes.Count} servers";
                },
                list: () => List(forwarder.Counters, kernel),
                stats: () => DaemonRuntime.JsonObjectText(w => WriteStats(w, forwarder, engine, kernel, delivery)),
                run: engine.Run,
                options);
            return 0;
        });
    }

    public const string DeliveryNft = "nft", DeliveryRaw = "raw";

    /// <summary>
    /// --delivery nft (and the default) restores whole datagrams in the kernel; the default falls back to user-space
    /// delivery, with the reason logged, where the kernel refuses a netdev table. --delivery raw never installs it.
    /// </summary>
    private static KernelDelivery? StartKernelDelivery(string? mode, string iface, ClientTable table, ILogger log)
    {
        if (mode == DeliveryRaw) return null;
        var kernel = new KernelDelivery(iface);
        try
        {
            kernel.Apply(table);
            return kernel;
        }
        catch (InvalidOperationException e) when (mode is null)
        {
            kernel.Dispose();
            log.LogWarning("kernel delivery unavailable ({Reason}); restoring copies in user space", e.Message);
            return null;
        }
    }

    private static IReadOnlyDictionary<string, (long Packets, long Bytes)> KernelCounters(KernelDelivery? kernel)
    {
        if (kernel is null) return new Dictionary<string, (long, long)>();
        try { return kernel.ReadCounters(); }
        catch (Exception e) when (e is InvalidOperationException or System.Text.Json.JsonException)
        {
            return new Dictionary<string, (long, long)>();
        }
    }

    /// <summary>The `list` reply, in the layout client_reload_list prints (the original's three counters).</summary>
    private static string List(ClientCounters c, KernelDelivery? kernel)
    {
        long inKernel = KernelCounters(kernel).Values.Sum(v => v.Packets);
        long received = Volatile.Read(ref c.Received), delivered = Volatile.Read(ref c.Delivered);
        return $"recv_pkt:\t{received + inKernel}\n" +
               $"drop_pkt:\t{received - delivered}\n" +
               $"forward_pkt:\t{delivered + inKernel}\n";
    }

    /// <summary>The client's stats: counters, then every route (server, group). Written as <see cref="ServerDaemon.WriteStats"/> is.</summary>
    /// <param name="delivery">The user-space delivery socket: its refused sends are restored packets that did not reach local sockets.</param>
    public static void WriteStats(Utf8JsonWriter w, ClientForwarder forwarder, IClientEngine? engine, KernelDelivery? kernel, RawSocketTxSlots? delivery)
    {
        IReadOnlyDictionary<string, (long Packets, long Bytes)> inKernel = KernelCounters(kernel);
        w.WriteString("delivery"u8, kernel is null ? DeliveryRaw : DeliveryNft);
        w.WriteNumber("capture_buffer_bytes"u8, engine?.CaptureBufferBytes ?? 0);
        w.WriteStartObject("counters"u8);
        foreach ((string name, long value) in forwarder.Counters.Snapshot()) w.WriteNumber(name, value);
        w.WriteNumber("capture_drops"u8, engine?.CaptureDrops ?? 0);
        w.WriteNumber("priority_boosts"u8, engine?.PriorityBoosts ?? 0);
        w.WriteNumber("kernel_delivered"u8, inKernel.Values.Sum(v => v.Packets));
        w.WriteNumber("kernel_delivered_bytes"u8, inKernel.Values.Sum(v => v.Bytes));
        w.WriteNumber("delivery_errors"u8, delivery is null ? 0 : Volatile.Read(ref delivery.SendErrors));
        w.WriteEndObject();
        Span<char> ip = stackalloc char[IpAddressV4.MaxFormattedLength];
        w.WriteStartArray("routes"u8);
        foreach (ClientRoute r in forwarder.Table.Routes)
        {
            w.WriteStartObject();
            w.WriteString("server_ip"u8, ip[..IpAddressV4.Format(r.ServerIp, ip)]);
            w.WriteNumber("server_port"u8, r.ServerPort);
            w.WriteString("group_ip"u8, ip[..IpAddressV4.Format(r.GroupIp, ip)]);
            w.WriteNumber("group_port"u8, r.GroupPort);
            w.WriteNumber("packets"u8, Volatile.Read(ref r.Packets) + K(r).Packets);
            w.WriteNumber("bytes"u8, Volatile.Read(ref r.Bytes) + K(r).Bytes);
            w.WriteEndObject();
        }
        w.WriteEndArray();

        (long Packets, long Bytes) K(ClientRoute r) =>
            inKernel.TryGetValue(KernelDelivery.RouteKey(r.ServerIp, r.ServerPort), out var v) ? v : default;
    }
}
