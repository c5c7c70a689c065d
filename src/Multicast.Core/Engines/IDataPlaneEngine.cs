using Multicast.Core.Tables;

namespace Multicast.Core.Engines;

/// <summary>
/// A server data plane: captures the application's multicast on one interface and transmits the copies that
/// <see cref="DataPlane.ServerForwarder"/> writes. One thread runs <see cref="Run"/>; <see cref="Apply"/> may be called
/// from any other thread and must not block the loop (publish, then update kernel filters).
/// </summary>
public interface IServerEngine : IDisposable
{
    string Name { get; }
    void Apply(FanoutTable table);
    void Run(CancellationToken stop);

    /// <summary>
    /// Packets the kernel dropped before the engine could read them (capture queue or ring full), accumulated since
    /// start. Safe to call from any thread.
    /// </summary>
    long CaptureDrops => 0;

    /// <summary>Times the data-plane thread raised its priority to drain a backlog (engines that switch it).</summary>
    long PriorityBoosts => 0;

    /// <summary>Bytes of the capture queue the kernel fills for the engine (ring, socket buffer, pcap buffer); 0 = unknown.</summary>
    long CaptureBufferBytes => 0;

    /// <summary>
    /// Times a fan-out found every frame of the engine's transmit ring still in flight and waited for the link (ring
    /// engine): rising under traffic, the NIC is slower than the copies. Safe to call from any thread.
    /// </summary>
    long TxFullWaits => 0;

    /// <summary>
    /// Times the engine's standby thread found datagrams waiting while the data-plane thread had not come round its loop
    /// (its CPU taken, or its wake-up still under way), and forwarded them itself (ring engine). Safe to call from any thread.
    /// </summary>
    long StandbyTakeovers => 0;

    /// <summary>
    /// Sends the kernel refused after the forwarder had counted their copies as sent (a raw socket's sendmmsg error, a
    /// pcap inject that failed): copies that did not leave. A refused TX-ring kick is not one; its frames go with the
    /// next kick. Safe to call from any thread.
    /// </summary>
    long SendErrors => 0;

    /// <summary>From capture to the transmit call, per datagram, for engines that get a capture timestamp from the kernel; else null.</summary>
    DataPlane.HopLatency? HopLatency => null;
}

/// <summary>
/// A client data plane: receives marked copies on one interface and hands them to
/// <see cref="DataPlane.ClientForwarder"/>, whose restored packets go to the delivery slots given at construction.
/// </summary>
public interface IClientEngine : IDisposable
{
    string Name { get; }
    void Apply(ClientTable table);
    void Run(CancellationToken stop);

    /// <summary>Packets the kernel dropped before the engine could read them, accumulated since start.</summary>
    long CaptureDrops => 0;

    /// <summary>Times the data-plane thread raised its priority to drain a backlog (engines that switch it).</summary>
    long PriorityBoosts => 0;

    /// <summary>Bytes of the capture queue the kernel fills for the engine (ring, socket buffer, pcap buffer); 0 = unknown.</summary>
    long CaptureBufferBytes => 0;
}

/// <summary>Names accepted by --engine.</summary>
public static class EngineNames
{
    public const string Ring = "ring";
    public const string Socket = "socket";
    public const string Pcap = "pcap";
}
