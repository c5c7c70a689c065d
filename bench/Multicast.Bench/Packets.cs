using System.Buffers.Binary;
using Multicast.Core.Packets;

namespace Multicast.Bench;

/// <summary>Builds the datagrams the benchmarks feed to the forwarders.</summary>
internal static class Packets
{
    public const uint Sender = 0x0A000001;   // 10.0.0.1
    public const uint Group = 0xE0010203;    // 224.1.2.3
    public const ushort GroupPort = 5000;
    public const ushort ServerPort = 7126;

    /// <summary>An IPv4/UDP packet of <paramref name="totalLength"/> bytes with valid checksums, TOS 0, TTL 1.</summary>
    public static byte[] Udp(int totalLength, uint source, uint destination, ushort port, byte tos = 0, byte ttl = 1)
    {
        var p = new byte[totalLength];
        p[0] = 0x45;
        p[1] = tos;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)totalLength);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), 0x4242);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(6), 0x4000);
        p[8] = ttl;
        p[9] = Ipv4Header.ProtocolUdp;
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(12), source);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(16), destination);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(20), 40000);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(22), port);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(24), (ushort)(totalLength - 20));
        new Random(totalLength).NextBytes(p.AsSpan(28));
        UdpHeader.SetChecksum(p.AsSpan(20), UdpHeader.ComputeChecksum(p));
        Ipv4Header.SetChecksum(p, Ipv4Header.ComputeChecksum(p));
        return p;
    }

    /// <summary>Distinct unicast member addresses 10.1.x.1..10.1.x.250 (ServerConfig refuses x.x.x.255 as broadcast).</summary>
    public static uint[] Members(int count)
    {
        var m = new uint[count];
        for (int i = 0; i < count; i++) m[i] = 0x0A010000u + (uint)(i / 250 << 8) + (uint)(i % 250 + 1);
        return m;
    }
}
