using Multicast.Core.DataPlane;

namespace Multicast.Linux.Ring;

/// <summary>
/// Ethernet framing (<see cref="EthernetTxSlots"/>) into TX ring frames: a copy whose next hop is not resolved, whose
/// route leaves by another interface or that is too large for a frame takes the slow path, so nothing is dropped while
/// ARP runs. A fan-out larger than the ring (a group of 1024 members, or a backlog of datagrams to a group of 64) is
/// sent in half-ring kicks as it is written, and waits for frames in flight when it catches up with them; a copy is
/// dropped and counted (TX full) only when the link has not freed a frame within <see cref="FullRingWaitMicroseconds"/>.
/// Single producer.
/// </summary>
public sealed unsafe class TxRingSlots : EthernetTxSlots
{
    /// <summary>
    /// How long one batch may wait for the link to free a frame: longer than a NIC takes to send half the ring of
    /// full-size frames at 1 Gb/s (1,024 × 1,514 B take 12.4 ms). Past it the link is not draining, and the rest of the
    /// batch is dropped at once (and counted) rather than waited for copy by copy.
    /// </summary>
    public const int FullRingWaitMicroseconds = 16_000;

    private readonly TxRing _ring;
    private readonly int _kickEvery;
    private int _queuedSinceKick;
    private bool _linkStalled;

    public TxRingSlots(TxRing ring, INextHopResolver resolver, ulong sourceMac, ITxSlots slowPath)
        : base(resolver, slowPath, sourceMac, ring.Capacity - EthernetHeaderLength)
    {
        _ring = ring;
        // Half the ring: the kernel sends one half while the fan-out writes the other. A small group's batch
        // (64 datagrams × 4 members) never reaches it, so its copies still leave in one kick per batch.
        _kickEvery = Math.Max(1, ring.FrameCount / 2);
    }

    /// <summary>Times a full ring made the fan-out wait for the link to free a frame.</summary>
    public long FullRingWaits;

    protected override byte* AcquireFrame(int frameLength)
    {
        byte* frame = _ring.NextFrame();
        return frame != null ? frame : AwaitFreeFrame();
    }

    private byte* AwaitFreeFrame()
    {
        if (_linkStalled) return null;
        TransmitQueued();
        FullRingWaits++;
        if (_ring.WaitForFreeFrame(FullRingWaitMicroseconds)) return _ring.NextFrame();
        _linkStalled = true;
        return null;
    }

    protected override void CommitFrame(int frameLength)
    {
        _ring.Ready(frameLength);
        if (++_queuedSinceKick >= _kickEvery) TransmitQueued();
    }

    /// <summary>Kicks the ring (a no-op when nothing is queued); a failed kick's frames go with the next kick.</summary>
    protected override void TransmitQueued()
    {
        _queuedSinceKick = 0;
        _linkStalled = false;
        int sent = _ring.Kick();
        if (sent > 0) Batches++;
        else if (sent < 0) SendErrors++;
    }
}
