using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Multicast.Core.Packets;

/// <summary>Field offsets and accessors for an IPv4 header at the start of a span (network byte order on the wire).</summary>
public static class Ipv4Header
{
    public const int MinLength = 20;
    public const int TosOffset = 1;
    public const int TotalLengthOffset = 2;
    public const int IdOffset = 4;
    public const int FlagsFragmentOffset = 6;
    public const int TtlOffset = 8;
    public const int ProtocolOffset = 9;
    public const int ChecksumOffset = 10;
    public const int SourceOffset = 12;
    public const int DestinationOffset = 16;
    public const byte ProtocolUdp = 17;
    public const ushort MoreFragmentsFlag = 0x2000;
    public const ushort FragmentOffsetMask = 0x1FFF;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int HeaderLength(ReadOnlySpan<byte> ip) => (ip[0] & 0x0F) * 4;
    public static int Version(ReadOnlySpan<byte> ip) => ip[0] >> 4;
    public static byte Tos(ReadOnlySpan<byte> ip) => ip[TosOffset];
    public static byte Ttl(ReadOnlySpan<byte> ip) => ip[TtlOffset];
    public static byte Protocol(ReadOnlySpan<byte> ip) => ip[ProtocolOffset];
    public static ushort TotalLength(ReadOnlySpan<byte> ip) => BinaryPrimitives.ReadUInt16BigEndian(ip[TotalLengthOffset..]);
    public static ushort Id(ReadOnlySpan<byte> ip) => BinaryPrimitives.ReadUInt16BigEndian(ip[IdOffset..]);
    public static ushort Checksum(ReadOnlySpan<byte> ip) => BinaryPrimitives.ReadUInt16BigEndian(ip[ChecksumOffset..]);
    public static uint Source(ReadOnlySpan<byte> ip) => BinaryPrimitives.ReadUInt32BigEndian(ip[SourceOffset..]);
    public static uint Destination(ReadOnlySpan<byte> ip) => BinaryPrimitives.ReadUInt32BigEndian(ip[DestinationOffset..]);

    /// <summary>Fragment offset in 8-byte units; non-zero means this fragment carries no UDP header.</summary>
    public static int FragmentOffset(ReadOnlySpan<byte> ip) =>
        BinaryPrimitives.ReadUInt16BigEndian(ip[FlagsFragmentOffset..]) & FragmentOffsetMask;

    public static bool MoreFragments(ReadOnlySpan<byte> ip) =>
        (BinaryPrimitives.ReadUInt16BigEndian(ip[FlagsFragmentOffset..]) & MoreFragmentsFlag) != 0;

    public static bool IsFragment(ReadOnlySpan<byte> ip) =>
        (BinaryPrimitives.ReadUInt16BigEndian(ip[FlagsFragmentOffset..]) & (MoreFragmentsFlag | FragmentOffsetMask)) != 0;

    /// <summary>
    /// What a fragment whose identification is 0 carries instead when it is sent through a raw socket with the header
    /// included: Linux (raw(7)) fills in a fresh identification for every such packet whose field is 0, one fragment at
    /// a time, so the fragments of one datagram would stop matching each other and the receiver could never reassemble
    /// it (1 fragmented datagram in 65,536 carries ID 0). Half the ID space away from 0, because a sender's IDs count
    /// upwards: its own datagram with this ID is some 32,768 datagrams away, long reassembled.
    /// </summary>
    public const ushort RawSocketFragmentId = 0x8000;

    /// <summary>
    /// Before a raw-socket send: gives a fragment with identification 0 <see cref="RawSocketFragmentId"/> (all of one
    /// datagram's fragments get the same), header checksum updated. Anything else is left as it is.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void KeepFragmentIdThroughRawSocket(Span<byte> ip)
    {
        if (ip.Length < MinLength || Id(ip) != 0 || !IsFragment(ip)) return;
        BinaryPrimitives.WriteUInt16BigEndian(ip[IdOffset..], RawSocketFragmentId);
        SetChecksum(ip, InternetChecksum.Update(Checksum(ip), 0, RawSocketFragmentId));
    }

    public static void SetChecksum(Span<byte> ip, ushort value) => BinaryPrimitives.WriteUInt16BigEndian(ip[ChecksumOffset..], value);
    public static void SetDestination(Span<byte> ip, uint address) => BinaryPrimitives.WriteUInt32BigEndian(ip[DestinationOffset..], address);

    /// <summary>Full header checksum, as a receiver would compute it with the checksum field taken as zero.</summary>
    public static ushort ComputeChecksum(ReadOnlySpan<byte> ip)
    {
        int ihl = HeaderLength(ip);
        ulong sum = InternetChecksum.Sum(ip[..ihl]) - Checksum(ip);
        return InternetChecksum.Finish(sum);
    }

    /// <summary>True when the header checksum of a received header verifies.</summary>
    public static bool ChecksumValid(ReadOnlySpan<byte> ip) => InternetChecksum.Fold(InternetChecksum.Sum(ip[..HeaderLength(ip)])) == 0xFFFF;
}
