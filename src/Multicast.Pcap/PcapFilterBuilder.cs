using System.Text;
using Multicast.Core.Packets;

namespace Multicast.Pcap;

/// <summary>
/// pcap filter expressions (compiled by libpcap/Npcap into the kernel/driver filter) for the configured groups.
/// Unlike the original's `port P1 or port P2`, they match on the destination address (so non-first fragments, which
/// carry no UDP header, are captured too) and they are rebuilt on every config change.
/// </summary>
public static class PcapFilterBuilder
{
    /// <summary>
    /// Above this many groups the expression would compile into a long program; the filter then accepts every
    /// address a group may have (224.0.0.0/4 and last octet 255, as the kernel-side builder does) and the table
    /// lookup drops the rest as "no group".
    /// </summary>
    public const int MaxListedGroups = 512;

    /// <summary>
    /// Matches nothing: with no groups configured the proxy must capture nothing, not everything. No frame is a byte
    /// long; a constant-false expression would be refused by libpcap's optimiser ("rejects all packets").
    /// </summary>
    public const string MatchNothing = "less 1";

    /// <param name="sourceMac">
    /// When the platform cannot select outgoing frames (Npcap has no pcap_setdirection), only frames this host sent.
    /// </param>
    /// <param name="listGroups">
    /// False: any group-shaped destination, so the filter stays the same while groups come and go. libpcap discards
    /// what the capture socket holds when a filter is replaced (measured: 2 of 10,000 datagrams of an untouched group
    /// lost across group changes), so the server engine lets the table lookup do the selecting instead.
    /// </param>
    public static string ServerCapture(IReadOnlyCollection<uint> groups, ulong? sourceMac = null, bool listGroups = true)
    {
        if (groups.Count == 0) return MatchNothing;
        var s = new StringBuilder();
        if (sourceMac is ulong mac) s.Append("ether src ").Append(FormatMac(mac)).Append(" and ");
        s.Append("ip proto 17 and ");
        if (!listGroups || groups.Count > MaxListedGroups) return s.Append("(ip dst net 224.0.0.0/4 or ip[19] = 255)").ToString();
        AppendAddresses(s, "ip dst host ", groups);
        return s.ToString();
    }

    /// <summary>Marked copies (TOS = marker) from the configured servers, addressed to this host.</summary>
    /// <param name="fragmentsOnly">Only fragments: the kernel delivers whole datagrams (see BpfFilterBuilder.ClientCapture).</param>
    public static string ClientCapture(IReadOnlyCollection<uint> servers, byte markerTos, bool fragmentsOnly = false)
    {
        if (servers.Count == 0) return MatchNothing;
        var s = new StringBuilder("ip proto 17 and ip[1] = ").Append(markerTos).Append(" and ");
        if (fragmentsOnly) s.Append("ip[6:2] & 0x3fff != 0 and ");
        if (servers.Count > MaxListedGroups) return s.Append("ip").ToString();
        AppendAddresses(s, "ip src host ", servers);
        return s.ToString();
    }

    private static void AppendAddresses(StringBuilder s, string primitive, IReadOnlyCollection<uint> addresses)
    {
        uint[] sorted = addresses.Distinct().Order().ToArray();
        s.Append('(');
        for (int i = 0; i < sorted.Length; i++)
        {
            if (i > 0) s.Append(" or ");
            s.Append(primitive).Append(IpAddressV4.Format(sorted[i]));
        }
        s.Append(')');
    }

    public static string FormatMac(ulong mac) =>
        string.Join(':', Enumerable.Range(0, 6).Select(i => ((byte)(mac >> (40 - 8 * i))).ToString("x2")));
}
