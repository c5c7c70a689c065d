using Multicast.Core.DataPlane;

namespace Multicast.Linux.Ring;

/// <summary>
/// Ethernet framing (<see cref="EthernetTxSlots"/>) into TX ring frames: a copy whose next hop is not resolved, whose
/// route leaves by another interface or that is too large for a frame takes the slow path, so nothing is dropped while
/// ARP runs; a copy finding every ring frame in flight is dropped and counted (TX full). Single producer.
/// </summary>
public sealed unsafe class TxRingSlots(TxRing ring, INextHopResolver resolver, ulong sourceMac, ITxSlots slowPath)
    : EthernetTxSlots(resolver, slowPath, sourceMac, ring.Capacity - EthernetHeaderLength)
{
    protected override byte* AcquireFrame(int frameLength) => ring.NextFrame();

    protected override void CommitFrame(int frameLength) => ring.Ready(frameLength);

    /// <summary>Kicks the ring (a no-op when nothing is queued); a failed kick's frames go with the next kick.</summary>
    protected override void TransmitQueued()
    {
        int sent = ring.Kick();
        if (sent > 0) Batches++;
        else if (sent < 0) SendErrors++;
    }
}
