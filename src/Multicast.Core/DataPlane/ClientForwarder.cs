using Multicast.Core.Packets;
using Multicast.Core.Tables;

namespace Multicast.Core.DataPlane;

/// <summary>
/// Client policy: accepts a copy only when it is marked and comes from a configured (server, port), restores the
/// group address (and group port), and writes the restored packet for local delivery.
/// </summary>
/// <param name="fragmentsOnly">
/// The kernel restores and delivers whole datagrams (nftables ingress rewrite, see KernelDelivery): engines capture
/// only fragments, and a whole datagram that still reaches this forwarder is counted and left to the kernel.
/// </param>
public sealed class ClientForwarder(byte deliveryTtl, bool fragmentsOnly = false)
{
    public bool FragmentsOnly => fragmentsOnly;

    private ClientTable _table = ClientTable.Empty;
    private readonly FragmentRoutes _fragments = new();

    public ClientCounters Counters { get; } = new();

    public ClientTable Table => Volatile.Read(ref _table);

    public void Publish(ClientTable table) => Volatile.Write(ref _table, table);

    /// <param name="captured">IPv4 packet as received (network header first).</param>
    /// <param name="delivery">Slots whose destination is the group; the engine delivers them to local sockets.</param>
    public void Restore(ReadOnlySpan<byte> captured, ITxSlots delivery)
    {
        ClientCounters c = Counters;
        c.Received++;
        c.ReceivedBytes += captured.Length;
        switch (PacketCheck.Check(captured, out int total))
        {
            case PacketVerdict.Malformed: c.DroppedMalformed++; return;
            case PacketVerdict.NotUdp: c.DroppedNotUdp++; return;
        }
        ReadOnlySpan<byte> ip = captured[..total];
        if (Ipv4Header.Tos(ip) != ProxyMarker.Tos) { c.DroppedNotMarked++; return; }
        ClientTable table = Volatile.Read(ref _table);
        uint source = Ipv4Header.Source(ip);
        if (!table.HasServer(source)) { c.DroppedUnknownServer++; return; }

        int ihl = Ipv4Header.HeaderLength(ip);
        bool first = Ipv4Header.FragmentOffset(ip) == 0;
        bool fragmented = Ipv4Header.IsFragment(ip);
        if (!fragmented && fragmentsOnly) { c.IgnoredKernelDelivers++; return; }
        if (fragmented) c.Fragments++;
        ClientRoute? route;
        ushort port = 0;
        if (first)
        {
            port = UdpHeader.DestinationPort(ip[ihl..]);
            route = table.Lookup(source, port);
            if (route is null) { c.DroppedUnknownPort++; return; }
            if (fragmented) _fragments.Remember(source, Ipv4Header.Id(ip), route);
        }
        else
        {
            route = _fragments.Find(source, Ipv4Header.Id(ip)) ?? table.SoleRoute(source);
            if (route is null) { c.DroppedFragmentUnmatched++; return; }
        }

        Span<byte> slot = delivery.Acquire(route.GroupIp, total);
        if (slot.IsEmpty) { c.DroppedDeliveryFull++; return; }
        ip.CopyTo(slot);
        uint oldDst = Ipv4Header.Destination(ip);
        // The marker has done its job; the original TOS is not on the wire, so deliver with the default 0.
        slot[Ipv4Header.TosOffset] = 0;
        slot[Ipv4Header.TtlOffset] = deliveryTtl;
        Ipv4Header.SetDestination(slot, route.GroupIp);
        Ipv4Header.SetChecksum(slot, Ipv4Header.ComputeChecksum(slot));
        if (first)
        {
            Span<byte> udp = slot[ihl..];
            ushort newPort = route.GroupPort != 0 ? route.GroupPort : port;
            UdpHeader.SetDestinationPort(udp, newPort);
            ushort checksum = UdpHeader.Checksum(udp);
            if (checksum != 0)
            {
                ushort updated = InternetChecksum.Update(checksum,
                    InternetChecksum.SumOf(oldDst) + port, InternetChecksum.SumOf(route.GroupIp) + newPort);
                UdpHeader.SetChecksum(udp, updated == 0 ? (ushort)0xFFFF : updated);
            }
        }
        delivery.Commit();
        c.Delivered++;
        c.DeliveredBytes += total;
        route.Packets++;
        route.Bytes += total;
    }
}
