using System.Buffers.Binary;
using Multicast.Core.Packets;
using Multicast.Core.Tables;

namespace Multicast.Core.DataPlane;

/// <summary>
/// Server policy: turns one captured multicast datagram into one marked unicast copy per member. Engines call
/// <see cref="Forward"/> from their single data-plane thread; configuration arrives through <see cref="Publish"/>.
/// Per member it does one payload copy and writes four fields; checksums are derived from sums computed once.
/// </summary>
public sealed class ServerForwarder
{
    private FanoutTable _table = FanoutTable.Empty;

    public ServerCounters Counters { get; } = new();

    public FanoutTable Table => Volatile.Read(ref _table);

    public void Publish(FanoutTable table) => Volatile.Write(ref _table, table);

    /// <param name="captured">IPv4 packet as captured (network header first; may carry trailing link padding).</param>
    /// <param name="udpChecksumPartial">
    /// The capture says the UDP checksum is not complete yet (TP_STATUS_CSUMNOTREADY: TX offload pending), so the
    /// field holds only the pseudo-header sum and must be computed in full once before per-member updates.
    /// </param>
    public void Forward(ReadOnlySpan<byte> captured, bool udpChecksumPartial, ITxSlots tx)
    {
        ServerCounters c = Counters;
        c.Captured++;
        c.CapturedBytes += captured.Length;
        switch (PacketCheck.Check(captured, out int total))
        {
            case PacketVerdict.Malformed: c.DroppedMalformed++; return;
            case PacketVerdict.NotUdp: c.DroppedNotUdp++; return;
        }
        ReadOnlySpan<byte> ip = captured[..total];
        FanoutGroup? group = Volatile.Read(ref _table).Lookup(Ipv4Header.Destination(ip));
        if (group is null) { c.DroppedNoGroup++; return; }
        uint[] members = group.Members;
        if (members.Length == 0) { c.DroppedNoMembers++; return; }

        int ihl = Ipv4Header.HeaderLength(ip);
        uint dst = Ipv4Header.Destination(ip);
        bool first = Ipv4Header.FragmentOffset(ip) == 0;
        bool fragmented = Ipv4Header.IsFragment(ip);
        if (fragmented) c.Fragments++;

        byte ttl = Math.Max(Ipv4Header.Ttl(ip), ProxyMarker.MinimumTtl);
        ushort word0 = (ushort)(ip[0] << 8 | ProxyMarker.Tos);
        ushort word8 = (ushort)(ttl << 8 | Ipv4Header.ProtocolUdp);
        // IP header sum with the new TOS/TTL and without checksum and destination: per member only the member's
        // address is added and folded.
        ulong ipBase = InternetChecksum.Sum(ip[..ihl]) - Ipv4Header.Checksum(ip) - InternetChecksum.SumOf(dst)
                       - BinaryPrimitives.ReadUInt16BigEndian(ip) - BinaryPrimitives.ReadUInt16BigEndian(ip[8..])
                       + word0 + word8;

        ushort oldPort = 0, newPort = 0;
        bool writeUdpChecksum = false;
        ulong udpBase = 0;
        if (first)
        {
            ReadOnlySpan<byte> udp = ip[ihl..];
            oldPort = UdpHeader.DestinationPort(udp);
            newPort = group.ServerPort != 0 ? group.ServerPort : oldPort;
            ushort checksum = UdpHeader.Checksum(udp);
            if (checksum != 0)
            {
                if (udpChecksumPartial)
                {
                    if (!fragmented) { checksum = UdpHeader.ComputeChecksum(ip); c.ChecksumsCompleted++; }
                    else c.ChecksumsUnfixable++;
                }
                // ~HC + ~m + m' (RFC 1624) with m = old destination address and port, m' added per member.
                udpBase = (ushort)~checksum
                          + (0xFFFFu - (dst >> 16)) + (0xFFFFu - (dst & 0xFFFF))
                          + (0xFFFFu - oldPort) + newPort;
                writeUdpChecksum = true;
            }
        }

        long[] memberCopies = group.MemberCopies, memberDrops = group.MemberDrops;
        int sent = 0;
        for (int i = 0; i < members.Length; i++)
        {
            uint member = members[i];
            Span<byte> slot = tx.Acquire(member, total);
            if (slot.IsEmpty) { memberDrops[i]++; c.CopiesDroppedTxFull++; continue; }
            ip.CopyTo(slot);
            uint memberSum = InternetChecksum.SumOf(member);
            slot[Ipv4Header.TosOffset] = ProxyMarker.Tos;
            slot[Ipv4Header.TtlOffset] = ttl;
            Ipv4Header.SetDestination(slot, member);
            Ipv4Header.SetChecksum(slot, InternetChecksum.Finish(ipBase + memberSum));
            if (first)
            {
                Span<byte> udp = slot[ihl..];
                UdpHeader.SetDestinationPort(udp, newPort);
                if (writeUdpChecksum)
                {
                    ushort sum = InternetChecksum.Finish(udpBase + memberSum);
                    UdpHeader.SetChecksum(udp, sum == 0 ? (ushort)0xFFFF : sum);
                }
            }
            tx.Commit();
            memberCopies[i]++;
            sent++;
        }
        c.Forwarded++;
        group.Counters.Packets++;
        group.Counters.Bytes += total;
        group.Counters.CopiesDropped += members.Length - sent;
        c.CopiesSent += sent;
        c.CopyBytes += (long)sent * total;
        group.Counters.CopiesSent += sent;
        group.Counters.CopyBytes += (long)sent * total;
    }
}
