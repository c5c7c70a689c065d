using System.Buffers.Binary;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Multicast.Core.Packets;

namespace Multicast.Cli.Tools;

/// <summary>
/// `multicast tool rawsend`: puts one hand-built IPv4 packet (valid or deliberately broken) on the wire as an Ethernet
/// frame through an AF_PACKET socket. A raw IP socket would not do: the kernel rewrites total length and checksum of
/// IP_HDRINCL packets, so truncated or inconsistent headers could never be produced that way.
/// </summary>
internal static partial class RawSendTool
{
    public const string Usage =
        "multicast tool rawsend --interface IF --dst-mac MAC --src A --dst B [--shape NAME[,NAME...]] [--sport P=40000] [--dport P=5000]\n" +
        "                       [--tos T=0xE0] [--ttl T=64] [--size BYTES=64] [--seq S=0] [--count N=1] | --hex IPV4_PACKET_HEX\n" +
        "  shapes: valid, options (valid packet with 4 bytes of IP options), truncated (frame shorter than the IP total\n" +
        "  length), bad-ihl (IHL 4), ihl-beyond-total (IHL 15 in a 40-byte packet), dport0 (UDP destination port 0),\n" +
        "  udp-length (UDP length beyond the packet), bad-options (an option whose length overruns the header),\n" +
        "  source-route (loose source route option). The UDP payload is the `tool send` format with sequence S.";

    public static readonly string[] Shapes =
        ["valid", "options", "bad-options", "source-route", "truncated", "bad-ihl", "ihl-beyond-total", "dport0", "udp-length"];

    public static int Run(string[] argv)
    {
        var a = new ToolArgs(argv, new HashSet<string>());
        string iface = a.RequiredString("interface");
        byte[] dstMac = ParseMac(a.RequiredString("dst-mac"));
        string? hex = a.String("hex");
        long count = a.Long("count", 1, 1, 1_000_000);
        var packets = new List<(string Shape, byte[] Bytes)>();
        if (hex is not null)
        {
            try { packets.Add(("hex", Convert.FromHexString(hex))); }
            catch (FormatException) { throw new UsageException("option --hex is not a hex string"); }
        }
        else
        {
            IPAddress src = a.RequiredAddress("src"), dst = a.RequiredAddress("dst");
            ushort sport = (ushort)a.Long("sport", 40000, 0, 65535), dport = (ushort)a.Long("dport", 5000, 0, 65535);
            byte tos = (byte)a.Long("tos", 0xE0, 0, 255), ttl = (byte)a.Long("ttl", 64, 0, 255);
            int size = (int)a.Long("size", 64, Payload.HeaderLength, 1400);
            ulong seq = (ulong)a.Long("seq", 0, 0);
            // A comma list sends one packet per shape with consecutive sequence numbers: one process start per batch.
            foreach (string shape in (a.String("shape") ?? "valid").Split(','))
                packets.Add((shape, Build(shape, src, dst, sport, dport, tos, ttl, size, seq++)));
        }
        a.RejectUnknown();
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("rawsend needs Linux AF_PACKET sockets");

        long sent = 0;
        foreach ((string _, byte[] bytes) in packets) sent += Send(iface, dstMac, bytes, count);
        Console.Out.WriteLine(new JsonObject
        {
            ["tool"] = "rawsend", ["shapes"] = string.Join(",", packets.Select(p => p.Shape)), ["interface"] = iface, ["sent"] = sent,
        }.ToJsonString());
        return sent == count * packets.Count ? 0 : 1;
    }

    /// <summary>Builds the IPv4 packet for a shape (checksums correct unless the shape is about them).</summary>
    public static byte[] Build(string shape, IPAddress src, IPAddress dst, ushort sport, ushort dport, byte tos, byte ttl, int size, ulong seq)
    {
        int optionBytes = shape is "options" or "bad-options" or "source-route" ? 4 : 0;
        int ihl = 20 + optionBytes;
        var payload = new byte[size];
        Payload.Write(payload, seq, WallClock.NowNs());
        var p = new byte[ihl + 8 + size];
        p[0] = (byte)(0x40 | (ihl / 4));
        p[1] = tos;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)Random.Shared.Next(1, 65536));
        p[8] = ttl;
        p[9] = 17;
        src.GetAddressBytes().CopyTo(p, 12);
        dst.GetAddressBytes().CopyTo(p, 16);
        if (optionBytes > 0)
        {
            byte[] options = shape switch
            {
                "bad-options" => [1, 0x44, 40, 0],     // NOP, timestamp claiming 40 bytes in a 4-byte option area
                "source-route" => [0x83, 3, 4, 0],      // loose source route (empty route list), EOL
                _ => [1, 1, 1, 0],                       // NOP NOP NOP EOL
            };
            options.CopyTo(p, 20);
        }
        Span<byte> udp = p.AsSpan(ihl);
        BinaryPrimitives.WriteUInt16BigEndian(udp, sport);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], shape == "dport0" ? (ushort)0 : dport);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(8 + size));
        payload.CopyTo(udp[8..]);
        WriteUdpChecksum(p, ihl);
        Ipv4Header.SetChecksum(p, Ipv4Header.ComputeChecksum(p));

        switch (shape)
        {
            case "valid" or "options" or "bad-options" or "source-route" or "dport0":
                return p;
            case "truncated":
                // Header says the full length; the frame carries only the IP and UDP headers and 4 payload bytes.
                return p[..(ihl + 12)];
            case "bad-ihl":
                p[0] = 0x44;
                Ipv4Header.SetChecksum(p, 0);
                Ipv4Header.SetChecksum(p, InternetChecksum.Finish(InternetChecksum.Sum(p.AsSpan(0, 16))));
                return p;
            case "ihl-beyond-total":
            {
                // 60-byte header claimed by a 40-byte packet.
                byte[] q = p[..40];
                q[0] = 0x4F;
                BinaryPrimitives.WriteUInt16BigEndian(q.AsSpan(2), 40);
                Ipv4Header.SetChecksum(q, 0);
                Ipv4Header.SetChecksum(q, InternetChecksum.Finish(InternetChecksum.Sum(q.AsSpan(0, 20))));
                return q;
            }
            case "udp-length":
                BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(ihl + 4), (ushort)(8 + size + 100));
                WriteUdpChecksum(p, ihl);
                return p;
            default:
                throw new UsageException($"unknown shape '{shape}' (known: {string.Join(", ", Shapes)})");
        }
    }

    private static void WriteUdpChecksum(byte[] p, int ihl)
    {
        Span<byte> udp = p.AsSpan(ihl);
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], 0);
        ulong sum = InternetChecksum.Sum(p.AsSpan(12, 8)) + 17u + (uint)udp.Length;
        sum = InternetChecksum.Sum(udp, sum);
        ushort c = InternetChecksum.Finish(sum);
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], c == 0 ? (ushort)0xFFFF : c);
    }

    private static byte[] ParseMac(string text)
    {
        string[] parts = text.Split(':');
        if (parts.Length != 6) throw new UsageException($"'{text}' is not a MAC address");
        var mac = new byte[6];
        for (int i = 0; i < 6; i++)
            if (!byte.TryParse(parts[i], System.Globalization.NumberStyles.HexNumber, null, out mac[i]))
                throw new UsageException($"'{text}' is not a MAC address");
        return mac;
    }

    private const int AfPacket = 17, SockDgram = 2;
    private const ushort EthPIp = 0x0800;

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct SockaddrLl
    {
        public ushort Family;
        public ushort Protocol;
        public int IfIndex;
        public ushort HaType;
        public byte PktType;
        public byte HaLen;
        public fixed byte Addr[8];
    }

    [LibraryImport("libc", SetLastError = true)] private static partial int socket(int domain, int type, int protocol);
    [LibraryImport("libc", SetLastError = true)] private static unsafe partial nint sendto(int fd, byte* buf, nuint len, int flags, SockaddrLl* addr, int addrLen);
    [LibraryImport("libc", SetLastError = true)] private static partial int close(int fd);
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)] private static partial uint if_nametoindex(string name);

    private static unsafe long Send(string iface, byte[] dstMac, byte[] packet, long count)
    {
        uint index = if_nametoindex(iface);
        if (index == 0) throw new InvalidOperationException($"no interface '{iface}' in this network namespace");
        // SOCK_DGRAM: the kernel writes the Ethernet header (our MAC as source), we supply the destination MAC.
        int fd = socket(AfPacket, SockDgram, BinaryPrimitives.ReverseEndianness(EthPIp));
        if (fd < 0) throw new InvalidOperationException($"AF_PACKET socket failed (errno {Marshal.GetLastPInvokeError()}; needs root/CAP_NET_RAW)");
        try
        {
            var sa = new SockaddrLl { Family = AfPacket, Protocol = BinaryPrimitives.ReverseEndianness(EthPIp), IfIndex = (int)index, HaLen = 6 };
            for (int i = 0; i < 6; i++) sa.Addr[i] = dstMac[i];
            long sent = 0;
            fixed (byte* b = packet)
                for (long i = 0; i < count; i++)
                {
                    if (sendto(fd, b, (nuint)packet.Length, 0, &sa, sizeof(SockaddrLl)) < 0)
                        throw new InvalidOperationException($"sendto on {iface} failed (errno {Marshal.GetLastPInvokeError()})");
                    sent++;
                }
            return sent;
        }
        finally { close(fd); }
    }
}
