using Multicast.Core.Packets;

namespace Multicast.Core.DataPlane;

public enum PacketVerdict { Ok, Malformed, NotUdp }

/// <summary>The structural checks both directions apply before trusting any header field.</summary>
public static class PacketCheck
{
    /// <summary>
    /// Validates an IPv4/UDP packet (or fragment) at the start of <paramref name="captured"/> and returns its length
    /// per the IP header (capture may add link padding). For unfragmented packets and first fragments it also checks
    /// that a UDP header is present and that its length fits.
    /// </summary>
    public static PacketVerdict Check(ReadOnlySpan<byte> captured, out int totalLength)
    {
        totalLength = 0;
        if (captured.Length < Ipv4Header.MinLength || Ipv4Header.Version(captured) != 4) return PacketVerdict.Malformed;
        int ihl = Ipv4Header.HeaderLength(captured);
        int total = Ipv4Header.TotalLength(captured);
        if (ihl < Ipv4Header.MinLength || total < ihl || total > captured.Length) return PacketVerdict.Malformed;
        if (ihl > Ipv4Header.MinLength && !OptionsWellFormed(captured[Ipv4Header.MinLength..ihl])) return PacketVerdict.Malformed;
        if (Ipv4Header.Protocol(captured) != Ipv4Header.ProtocolUdp) return PacketVerdict.NotUdp;
        if (Ipv4Header.FragmentOffset(captured) == 0)
        {
            if (total - ihl < UdpHeader.Length) return PacketVerdict.Malformed;
            int udpLength = UdpHeader.DatagramLength(captured[ihl..]);
            if (udpLength < UdpHeader.Length) return PacketVerdict.Malformed;
            if (!Ipv4Header.MoreFragments(captured) && udpLength > total - ihl) return PacketVerdict.Malformed;
            if (UdpHeader.DestinationPort(captured[ihl..]) == 0) return PacketVerdict.Malformed;
        }
        totalLength = total;
        return PacketVerdict.Ok;
    }

    private const byte OptionEnd = 0, OptionNop = 1, OptionLooseSourceRoute = 0x83, OptionStrictSourceRoute = 0x89;

    /// <summary>
    /// Options are carried through unchanged, so they must at least parse: every option's length stays inside the
    /// header. Source-route options are refused: a relay that forwards them lets a sender steer copies.
    /// </summary>
    public static bool OptionsWellFormed(ReadOnlySpan<byte> options)
    {
        int i = 0;
        while (i < options.Length)
        {
            byte type = options[i];
            if (type == OptionEnd) return true;
            if (type == OptionNop) { i++; continue; }
            if (type is OptionLooseSourceRoute or OptionStrictSourceRoute) return false;
            if (i + 1 >= options.Length) return false;
            int length = options[i + 1];
            if (length < 2 || i + length > options.Length) return false;
            i += length;
        }
        return true;
    }
}
