using System.Buffers.Binary;

namespace Multicast.Tests.Unit;

/// <summary>How a built packet's UDP checksum field is filled.</summary>
public enum UdpChecksumMode { Valid, Zero, PartialPseudoHeader }

/// <summary>Everything a test may vary in an IPv4/UDP packet.</summary>
public sealed record PacketSpec
{
    public uint Source { get; init; } = 0x0A000001;         // 10.0.0.1
    public uint Destination { get; init; } = 0xE0010203;    // 224.1.2.3
    public ushort SourcePort { get; init; } = 40000;
    public ushort DestinationPort { get; init; } = 5000;
    public byte Tos { get; init; }
    public byte Ttl { get; init; } = 1;
    public ushort Id { get; init; } = 0x1234;
    public ushort FlagsFragment { get; init; } = 0x4000;    // DF, offset 0
    public byte Protocol { get; init; } = 17;
    public byte[] Options { get; init; } = [];
    public byte[] Payload { get; init; } = [1, 2, 3, 4, 5];
    public UdpChecksumMode Checksum { get; init; } = UdpChecksumMode.Valid;
    /// <summary>Bytes appended after the IP total length, as link padding in a capture.</summary>
    public int Trailer { get; init; }
}

/// <summary>
/// Builds packets and recomputes checksums the plain way (one 16-bit word at a time, fold at the end), so the tests
/// check the product's unfolded/incremental arithmetic against an implementation that shares nothing with it.
/// </summary>
public static class TestPackets
{
    public static byte[] Build(PacketSpec s)
    {
        if (s.Options.Length % 4 != 0 || s.Options.Length > 40) throw new ArgumentException("options must be 0..40 bytes, multiple of 4");
        int ihl = 20 + s.Options.Length;
        int udpLength = 8 + s.Payload.Length;
        int total = ihl + udpLength;
        var p = new byte[total + s.Trailer];
        p[0] = (byte)(0x40 | ihl / 4);
        p[1] = s.Tos;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)total);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), s.Id);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(6), s.FlagsFragment);
        p[8] = s.Ttl;
        p[9] = s.Protocol;
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(12), s.Source);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(16), s.Destination);
        s.Options.CopyTo(p, 20);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(ihl), s.SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(ihl + 2), s.DestinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(ihl + 4), (ushort)udpLength);
        s.Payload.CopyTo(p, ihl + 8);
        for (int i = total; i < p.Length; i++) p[i] = 0xA5;
        ushort udpChecksum = s.Checksum switch
        {
            UdpChecksumMode.Valid => UdpChecksum(p.AsSpan(0, total)),
            UdpChecksumMode.PartialPseudoHeader => PseudoHeaderFolded(s.Source, s.Destination, udpLength),
            _ => 0,
        };
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(ihl + 6), udpChecksum);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), IpChecksum(p));
        return p;
    }

    public static int Ihl(ReadOnlySpan<byte> ip) => (ip[0] & 0x0F) * 4;
    public static int TotalLength(ReadOnlySpan<byte> ip) => BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
    public static ushort Word(ReadOnlySpan<byte> b, int offset) => BinaryPrimitives.ReadUInt16BigEndian(b[offset..]);
    public static uint Address(ReadOnlySpan<byte> b, int offset) => BinaryPrimitives.ReadUInt32BigEndian(b[offset..]);
    public static void SetWord(Span<byte> b, int offset, ushort v) => BinaryPrimitives.WriteUInt16BigEndian(b[offset..], v);
    public static ushort IpChecksumField(ReadOnlySpan<byte> ip) => Word(ip, 10);
    public static ushort UdpChecksumField(ReadOnlySpan<byte> ip) => Word(ip, Ihl(ip) + 6);
    public static ushort DestinationPort(ReadOnlySpan<byte> ip) => Word(ip, Ihl(ip) + 2);

    /// <summary>One's-complement sum of 16-bit words, carries folded after every addition.</summary>
    private static uint AddWord(uint sum, uint word)
    {
        sum += word;
        if (sum > 0xFFFF) sum = (sum & 0xFFFF) + 1;
        return sum;
    }

    /// <summary>IPv4 header checksum with the checksum field skipped.</summary>
    public static ushort IpChecksum(ReadOnlySpan<byte> ip)
    {
        uint sum = 0;
        for (int i = 0; i < Ihl(ip); i += 2)
            if (i != 10) sum = AddWord(sum, (uint)(ip[i] << 8 | ip[i + 1]));
        return (ushort)~sum;
    }

    /// <summary>Folded, uncomplemented pseudo-header sum: what a stack leaves in the field when it offloads the checksum.</summary>
    public static ushort PseudoHeaderFolded(uint source, uint destination, int udpLength)
    {
        uint sum = 0;
        sum = AddWord(sum, source >> 16);
        sum = AddWord(sum, source & 0xFFFF);
        sum = AddWord(sum, destination >> 16);
        sum = AddWord(sum, destination & 0xFFFF);
        sum = AddWord(sum, 17);
        sum = AddWord(sum, (uint)udpLength);
        return (ushort)sum;
    }

    /// <summary>
    /// UDP checksum of a whole (unfragmented) datagram: pseudo-header from the IP header, then the UDP header and payload
    /// with the checksum field skipped; a result of 0 is sent as 0xFFFF.
    /// </summary>
    public static ushort UdpChecksum(ReadOnlySpan<byte> ip)
    {
        int ihl = Ihl(ip);
        ReadOnlySpan<byte> udp = ip[ihl..];
        int udpLength = Word(udp, 4);
        return UdpChecksum(Address(ip, 12), Address(ip, 16), udp[..udpLength]);
    }

    public static ushort UdpChecksum(uint source, uint destination, ReadOnlySpan<byte> udp)
    {
        uint sum = PseudoHeaderFolded(source, destination, udp.Length);
        for (int i = 0; i < udp.Length; i += 2)
        {
            if (i == 6) continue;
            uint word = i + 1 < udp.Length ? (uint)(udp[i] << 8 | udp[i + 1]) : (uint)udp[i] << 8;
            sum = AddWord(sum, word);
        }
        ushort result = (ushort)~sum;
        return result == 0 ? (ushort)0xFFFF : result;
    }

    /// <summary>
    /// Splits an unfragmented packet into fragments carrying <paramref name="chunk"/> bytes of the IP payload each
    /// (a multiple of 8), every fragment repeating the header and options as a raw sender might.
    /// </summary>
    public static List<byte[]> Fragment(ReadOnlySpan<byte> ip, int chunk)
    {
        if (chunk % 8 != 0) throw new ArgumentException("fragment payloads are multiples of 8");
        int ihl = Ihl(ip), total = TotalLength(ip);
        var list = new List<byte[]>();
        for (int offset = 0; offset < total - ihl; offset += chunk)
        {
            int len = Math.Min(chunk, total - ihl - offset);
            bool more = offset + len < total - ihl;
            var f = new byte[ihl + len];
            ip[..ihl].CopyTo(f);
            ip.Slice(ihl + offset, len).CopyTo(f.AsSpan(ihl));
            SetWord(f, 2, (ushort)f.Length);
            SetWord(f, 6, (ushort)((Word(ip, 6) & 0x4000) | (more ? 0x2000 : 0) | offset / 8));
            SetWord(f, 10, IpChecksum(f));
            list.Add(f);
        }
        return list;
    }

    /// <summary>Puts fragments back together (any order), returning an unfragmented packet with the first one's header.</summary>
    public static byte[] Reassemble(IEnumerable<byte[]> fragments)
    {
        byte[]? first = null;
        var parts = new SortedDictionary<int, byte[]>();
        foreach (byte[] f in fragments)
        {
            int offset = (Word(f, 6) & 0x1FFF) * 8;
            parts.Add(offset, f[Ihl(f)..TotalLength(f)]);
            if (offset == 0) first = f;
        }
        if (first is null) throw new ArgumentException("first fragment missing");
        int ihl = Ihl(first);
        var whole = new List<byte>(first[..ihl]);
        foreach ((int offset, byte[] data) in parts)
        {
            if (whole.Count - ihl != offset) throw new ArgumentException($"gap or overlap at {offset}");
            whole.AddRange(data);
        }
        byte[] p = whole.ToArray();
        SetWord(p, 2, (ushort)p.Length);
        SetWord(p, 6, (ushort)(Word(p, 6) & 0x4000));
        SetWord(p, 10, IpChecksum(p));
        return p;
    }

    /// <summary>
    /// Well-formed options of random shape (NOPs and record-route/timestamp-like options with random contents, then
    /// end-of-list padding): what a legitimate sender can put there, which the proxy must carry unchanged.
    /// </summary>
    public static byte[] RandomOptions(Random r, int length)
    {
        var options = new byte[length];
        int i = 0;
        while (i < length)
        {
            int left = length - i;
            if (left < 2 || r.Next(3) == 0) { options[i++] = (byte)(r.Next(4) == 0 ? 0 : 1); if (options[i - 1] == 0) break; continue; }
            int optionLength = r.Next(2, left + 1);
            options[i] = r.Next(2) == 0 ? (byte)0x07 : (byte)0x44;
            options[i + 1] = (byte)optionLength;
            for (int k = 2; k < optionLength; k++) options[i + k] = (byte)r.Next(256);
            i += optionLength;
        }
        return options;
    }

    /// <summary>A packet with random everything that a sender may legally choose.</summary>
    public static PacketSpec RandomSpec(Random r, uint destination, int maxPayload = 1472)
    {
        int optionWords = r.Next(4) == 0 ? r.Next(1, 11) : 0;
        byte[] options = RandomOptions(r, optionWords * 4);
        int payloadLength = r.Next(5) == 0 ? r.Next(0, 8) : r.Next(0, maxPayload - options.Length + 1);
        var payload = new byte[payloadLength];
        r.NextBytes(payload);
        return new PacketSpec
        {
            Source = (uint)r.Next(0x01000000, 0x7FFFFFFF),
            Destination = destination,
            SourcePort = (ushort)r.Next(0, 65536),
            DestinationPort = (ushort)r.Next(1, 65536),
            Tos = (byte)r.Next(256),
            Ttl = (byte)r.Next(256),
            Id = (ushort)r.Next(65536),
            FlagsFragment = r.Next(2) == 0 ? (ushort)0x4000 : (ushort)0,
            Options = options,
            Payload = payload,
            Checksum = r.Next(8) == 0 ? UdpChecksumMode.Zero : UdpChecksumMode.Valid,
            Trailer = r.Next(3) == 0 ? r.Next(1, 20) : 0,
        };
    }
}
