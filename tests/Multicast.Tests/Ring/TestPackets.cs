using System.Buffers.Binary;
using Multicast.Core.DataPlane;
using Multicast.Core.Packets;

namespace Multicast.Tests.Ring;

internal static class TestPackets
{
    /// <summary>A complete IPv4/UDP packet with valid IP and UDP checksums.</summary>
    public static byte[] Udp(uint source, uint destination, ushort sourcePort, ushort destinationPort, ReadOnlySpan<byte> payload,
        byte tos = 0, byte ttl = 64)
    {
        var p = new byte[28 + payload.Length];
        p[0] = 0x45;
        p[1] = tos;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)Random.Shared.Next(1, 65535));
        p[6] = 0x40; // DF
        p[8] = ttl;
        p[9] = 17;
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(12), source);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(16), destination);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(20), sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(22), destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(24), (ushort)(8 + payload.Length));
        payload.CopyTo(p.AsSpan(28));
        Ipv4Header.SetChecksum(p, Ipv4Header.ComputeChecksum(p));
        UdpHeader.SetChecksum(p.AsSpan(20), UdpHeader.ComputeChecksum(p));
        return p;
    }

    /// <summary>True when the UDP checksum verifies over the pseudo-header (0 = not used also passes).</summary>
    public static bool UdpChecksumValid(ReadOnlySpan<byte> ip)
    {
        int ihl = Ipv4Header.HeaderLength(ip);
        ReadOnlySpan<byte> udp = ip[ihl..];
        if (UdpHeader.Checksum(udp) == 0) return true;
        int length = UdpHeader.DatagramLength(udp);
        ulong sum = InternetChecksum.Sum(udp[..length]) + InternetChecksum.SumOf(Ipv4Header.Source(ip))
                    + InternetChecksum.SumOf(Ipv4Header.Destination(ip)) + 17u + (uint)length;
        return InternetChecksum.Fold(sum) == 0xFFFF;
    }
}

/// <summary>ITxSlots that keeps every committed packet (thread-safe for reading from the test thread).</summary>
internal sealed class CapturingSlots : ITxSlots
{
    private readonly byte[] _slot = new byte[65536];
    private int _length;
    private readonly List<(uint Destination, byte[] Packet)> _packets = new();
    private uint _destination;

    public Span<byte> Acquire(uint destination, int length)
    {
        _destination = destination;
        _length = length;
        return _slot.AsSpan(0, length);
    }

    public void Commit()
    {
        lock (_packets) _packets.Add((_destination, _slot.AsSpan(0, _length).ToArray()));
    }

    public void Flush() { }

    public List<(uint Destination, byte[] Packet)> Snapshot()
    {
        lock (_packets) return _packets.ToList();
    }
}
