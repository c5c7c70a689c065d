using Microsoft.Extensions.Logging;
using Multicast.Core.DataPlane;
using Multicast.Core.Engines;
using Multicast.Linux.Net;
using Multicast.Linux.Ring;
using Multicast.Pcap;
using Multicast.Linux.Sockets;

namespace Multicast.Linux;

/// <summary>Creates the engine named by --engine.</summary>
public static class EngineFactory
{
    public static readonly string[] ServerEngines = [EngineNames.Ring, EngineNames.Socket, EngineNames.Pcap];

    /// <summary>Windows has only the pcap engine (Npcap); Linux defaults to the ring.</summary>
    private static string DefaultEngine => OperatingSystem.IsWindows() ? EngineNames.Pcap : EngineNames.Ring;

    /// <param name="engine">The engine asked for with --engine; null = the default (ring, falling back to socket).</param>
    /// <param name="idle">The ring engine's idle strategy; null = <see cref="IdleStrategy.ServerDefault"/> (adaptive).</param>
    /// <param name="priority">The ring engine's data-plane nice values; null = <see cref="DataPlanePriority.Default"/>.
    /// The other engines do not switch: the daemon runs their thread at the boost value throughout.</param>
    /// <param name="captureBytes">The capture queue (--rx-buffer): the RX ring's memory, the capture socket's receive
    /// buffer or libpcap's buffer; null = each engine's default (8 MiB, 8 MiB, 32 MiB).</param>
    /// <param name="standbyMicros">The ring engine's standby period (--standby; 0 = off); null = <see cref="StandbyLoop.DefaultPeriodMicros"/>.</param>
    public static IServerEngine CreateServer(string? engine, string interfaceName, ServerForwarder forwarder, ILogger logger,
        IdleStrategy? idle = null, DataPlanePriority? priority = null, int? captureBytes = null, int? standbyMicros = null) =>
        (engine ?? DefaultEngine) switch
        {
            EngineNames.Pcap when OperatingSystem.IsWindows() => PcapEngines.CreateWindowsServer(interfaceName, forwarder, logger, captureBytes),
            EngineNames.Pcap => new PcapServerEngine(interfaceName, forwarder, logger,
                nic => LinuxNextHops(nic, logger), _ => new RawSocketTxSlots(capacity: 128), captureBytes),
            EngineNames.Socket => new SocketServerEngine(interfaceName, forwarder, logger, captureBytes),
            EngineNames.Ring => RingOrFallback<IServerEngine>(engine is null, interfaceName, logger,
                () => new RingServerEngine(interfaceName, forwarder, logger, ServerRingOptions(idle, priority, captureBytes, standbyMicros)),
                () => new SocketServerEngine(interfaceName, forwarder, logger, captureBytes)),
            _ => throw new ArgumentException($"unknown engine '{engine}' (expected one of: {string.Join(", ", ServerEngines)})"),
        };

    public static IClientEngine CreateClient(string? engine, string interfaceName, ClientForwarder forwarder, ITxSlots delivery, ILogger logger,
        IdleStrategy? idle = null, DataPlanePriority? priority = null, int? captureBytes = null) =>
        (engine ?? DefaultEngine) switch
        {
            EngineNames.Pcap => new PcapClientEngine(interfaceName, forwarder, delivery, logger, captureBytes),
            EngineNames.Socket => new SocketClientEngine(interfaceName, forwarder, delivery, logger, captureBytes),
            EngineNames.Ring => RingOrFallback<IClientEngine>(engine is null, interfaceName, logger,
                () => new RingClientEngine(interfaceName, forwarder, delivery, logger, RingOptions(idle, priority, captureBytes)),
                () => new SocketClientEngine(interfaceName, forwarder, delivery, logger, captureBytes)),
            _ => throw new ArgumentException($"unknown engine '{engine}' (expected one of: {string.Join(", ", ServerEngines)})"),
        };

    internal static RxRingOptions ServerRingOptions(IdleStrategy? idle, DataPlanePriority? priority = null, int? captureBytes = null, int? standbyMicros = null) =>
        RingOptions(idle ?? IdleStrategy.ServerDefault, priority, captureBytes) with { StandbyMicros = standbyMicros ?? StandbyLoop.DefaultPeriodMicros };

    private static RxRingOptions RingOptions(IdleStrategy? idle, DataPlanePriority? priority, int? captureBytes) =>
        RxRingOptions.Default with
        {
            Idle = idle ?? RxRingOptions.Default.Idle, Priority = priority ?? DataPlanePriority.Default,
            RingBytes = captureBytes ?? RxRingOptions.Default.RingBytes,
        };

    /// <summary>
    /// The ring engine is the Linux default, so a host where it cannot run (shim not built, no Ethernet framing,
    /// kernel without packet rings) still gets a working proxy: the socket engine, with the reason logged.
    /// An explicit `--engine ring` gets the ring or a clear error, never a silent substitute.
    /// </summary>
    private static T RingOrFallback<T>(bool mayFallBack, string interfaceName, ILogger logger, Func<T> ring, Func<T> socket)
    {
        // A mistyped name is the user's error, not the ring's: say so before any talk of falling back.
        if (!InterfaceLookup.Exists(interfaceName)) throw new InvalidOperationException($"interface {interfaceName} does not exist");
        try
        {
            return ring();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or ShimException or NotSupportedException)
        {
            if (!mayFallBack) throw new InvalidOperationException($"the ring engine cannot run on {interfaceName}: {e.Message}");
            logger.LogWarning("ring engine unavailable on {Interface} ({Reason}); using the socket engine", interfaceName, e.Message);
            return socket();
        }
    }

    /// <summary>
    /// The pcap engine on Linux reuses the ring engine's netlink resolver (native shim). Without the shim every copy
    /// takes the kernel-routed slow path: slower, but nothing is lost.
    /// </summary>
    private static INextHopResolver LinuxNextHops(CaptureInterface nic, ILogger logger)
    {
        try
        {
            return new NextHopCache(new NetlinkNextHopSource(nic.Index, logger), nic.Index, logger);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or ShimException)
        {
            logger.LogWarning("pcap engine: no next-hop resolver ({Reason}); every copy goes through the kernel", e.Message);
            return new KernelRoutedOnly();
        }
    }
}
