using System.Buffers.Binary;

namespace Multicast.Core.Packets;

/// <summary>Field offsets and accessors for a UDP header at the start of a span.</summary>
public static class UdpHeader
{
    public const int Length = 8;
    public const int SourcePortOffset = 0;
    public const int DestinationPortOffset = 2;
    public const int LengthOffset = 4;
    public const int ChecksumOffset = 6;

    public static ushort SourcePort(ReadOnlySpan<byte> udp) => BinaryPrimitives.ReadUInt16BigEndian(udp);
    public static ushort DestinationPort(ReadOnlySpan<byte> udp) => BinaryPrimitives.ReadUInt16BigEndian(udp[DestinationPortOffset..]);
    public static ushort DatagramLength(ReadOnlySpan<byte> udp) => BinaryPrimitives.ReadUInt16BigEndian(udp[LengthOffset..]);
    public static ushort Checksum(ReadOnlySpan<byte> udp) => BinaryPrimitives.ReadUInt16BigEndian(udp[ChecksumOffset..]);
    public static void SetDestinationPort(Span<byte> udp, ushort port) => BinaryPrimitives.WriteUInt16BigEndian(udp[DestinationPortOffset..], port);
    public static void SetChecksum(Span<byte> udp, ushort value) => BinaryPrimitives.WriteUInt16BigEndian(udp[ChecksumOffset..], value);

    /// <summary>
    /// Full UDP checksum over pseudo-header + UDP header + payload of an unfragmented IPv4 packet, with the checksum
    /// field taken as zero. A computed 0 is sent as 0xFFFF (RFC 768).
    /// </summary>
    public static ushort ComputeChecksum(ReadOnlySpan<byte> ip)
    {
        int ihl = Ipv4Header.HeaderLength(ip);
        ReadOnlySpan<byte> udp = ip[ihl..];
        int udpLength = DatagramLength(udp);
        ulong sum = InternetChecksum.Sum(udp[..udpLength]) - Checksum(udp);
        sum += InternetChecksum.SumOf(Ipv4Header.Source(ip)) + InternetChecksum.SumOf(Ipv4Header.Destination(ip));
        sum += Ipv4Header.ProtocolUdp + (uint)udpLength;
        ushort result = InternetChecksum.Finish(sum);
        return result == 0 ? (ushort)0xFFFF : result;
    }
}
