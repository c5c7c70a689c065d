namespace Multicast.Core.DataPlane;

/// <summary>
/// Where the forwarders write outgoing packets: a TX ring, a sendmmsg batch, a pcap send queue, or memory in tests.
/// The caller acquires a slot, writes exactly one IPv4 packet into it (network header first), then commits it.
/// Implementations own link-layer framing, so the forwarders never see Ethernet headers.
/// </summary>
public interface ITxSlots
{
    /// <summary>
    /// A writable span of at least <paramref name="length"/> bytes for a packet to <paramref name="destination"/>
    /// (host-order IPv4, the address the packet is routed to), or an empty span when no slot is free (the caller counts
    /// the drop and continues with the next destination: one full queue never stalls the rest).
    /// </summary>
    Span<byte> Acquire(uint destination, int length);

    /// <summary>Queues the slot returned by the last <see cref="Acquire"/> for transmission.</summary>
    void Commit();

    /// <summary>Transmits whatever is queued (end of a receive batch).</summary>
    void Flush();
}
