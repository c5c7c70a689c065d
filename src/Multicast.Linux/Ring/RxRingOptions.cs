namespace Multicast.Linux.Ring;

/// <summary>
/// RX ring geometry. Version 2 is the default: measured on veth (native/tools/rxlat.c, numbers in native/rx_ring.c),
/// V2 delivers a frame to user space in ~20-60 µs at p50 from 100 to 10k pps, while V3 with 8 KiB blocks and a 1 ms
/// block timeout waits for block retirement: p50 130-590 µs, p90 ~1 ms, and 2+ ms with a 4 ms timeout.
/// </summary>
public sealed record RxRingOptions
{
    /// <summary>TPACKET version, 2 or 3.</summary>
    public int Version { get; init; } = 2;

    /// <summary>Total ring memory; frames are sized from the MTU and counted from this.</summary>
    public int RingBytes { get; init; } = 8 << 20;

    /// <summary>V3 only: block size and retire timeout.</summary>
    public int V3BlockSize { get; init; } = 64 << 10;
    public int V3BlockTimeoutMs { get; init; } = 1;

    /// <summary>
    /// What the loop does after an empty walk: park in poll at once (no idle CPU, a scheduler wake-up per quiet
    /// spell), or spin / yield for a window first (lower tail latency, a busy core while traffic flows). Park here;
    /// the server engine is given <see cref="IdleStrategy.ServerDefault"/> by EngineFactory.
    /// </summary>
    public IdleStrategy Idle { get; init; } = IdleStrategy.Park;

    /// <summary>
    /// The loop thread's nice values: BASE while it keeps up, BOOST while a backlog drains (see DataPlanePriority).
    /// Null leaves the thread's priority as the caller set it; the daemons' engines get theirs from EngineFactory.
    /// </summary>
    public DataPlanePriority? Priority { get; init; }

    /// <summary>
    /// Server only: the standby thread's period in µs (see StandbyLoop), which drains the RX ring when the data-plane
    /// thread has not come round its loop for that long; 0 = no standby. EngineFactory gives the server
    /// <see cref="StandbyLoop.DefaultPeriodMicros"/>.
    /// </summary>
    public int StandbyMicros { get; init; }

    /// <summary>How long one park lasts, so Run notices cancellation promptly.</summary>
    public int PollTimeoutMs { get; init; } = 150;

    public static RxRingOptions Default { get; } = new();

    /// <summary>Frame size holding a full MTU frame with its ring header and a VLAN tag: a power of two.</summary>
    internal static uint FrameSizeFor(int mtu)
    {
        // tpacket2/3 header + sockaddr_ll + alignment gap come to under 128 bytes.
        int needed = 128 + 14 + 4 + Math.Max(mtu, 576);
        return System.Numerics.BitOperations.RoundUpToPowerOf2((uint)needed);
    }
}
