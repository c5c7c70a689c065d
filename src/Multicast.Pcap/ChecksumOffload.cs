using Multicast.Core.Packets;

namespace Multicast.Pcap;

/// <summary>
/// libpcap and Npcap do not pass on the "checksum not ready" flag that AF_PACKET rings have, yet they capture
/// outgoing packets before TX checksum offload fills the UDP checksum in: the field then holds the plain (not
/// complemented) pseudo-header sum, which is what both Linux and Windows write for the NIC to finish.
/// </summary>
public static class ChecksumOffload
{
    /// <summary>
    /// True when the UDP checksum field holds exactly the pseudo-header sum. A genuine checksum with that value
    /// (about 1 in 65536) only costs a needless recomputation, which yields the same correct value. Fragments are
    /// never offloaded (the stack completes the checksum before fragmenting), so they are never "partial".
    /// </summary>
    public static bool LooksPartial(ReadOnlySpan<byte> ip)
    {
        if (ip.Length < 20 || Ipv4Header.Version(ip) != 4 || Ipv4Header.Protocol(ip) != Ipv4Header.ProtocolUdp) return false;
        int ihl = Ipv4Header.HeaderLength(ip);
        if (ihl < 20 || ip.Length < ihl + 8 || Ipv4Header.IsFragment(ip)) return false;
        ReadOnlySpan<byte> udp = ip[ihl..];
        ushort field = UdpHeader.Checksum(udp);
        if (field == 0) return false;
        ulong pseudo = InternetChecksum.SumOf(Ipv4Header.Source(ip)) + InternetChecksum.SumOf(Ipv4Header.Destination(ip))
                       + Ipv4Header.ProtocolUdp + UdpHeader.DatagramLength(udp);
        return InternetChecksum.Fold(pseudo) == field;
    }
}
