namespace Multicast.Core.Tables;

/// <summary>
/// Every member on the server's own subnets needs an entry of its own in the host's neighbour (ARP) table; members
/// behind a gateway share the gateway's. Linux sizes that table for the whole host, all namespaces together
/// (net.ipv4.neigh.default.gc_thresh2, 512 by default: above it the kernel evicts entries idle for 5 s, and the ring
/// engine's copies, sent past the neighbour layer, never refresh theirs; gc_thresh3, 1024: it creates no more). Past
/// gc_thresh3 copies to the members it cannot add are lost, and so are the host's own sends that need a new entry,
/// the publisher's multicast included, without an error to the sender (measured: 1,100 on-link members, 1,023
/// entries made, the publisher's next 54 datagrams counted in IpOutDiscards and nothing on the wire).
/// </summary>
public static class NeighbourBudget
{
    /// <summary>Kernel defaults, for where the sysctls cannot be read (a network namespace other than the host's).</summary>
    public const int DefaultSoftLimit = 512, DefaultHardLimit = 1024;

    /// <summary>Distinct members, over all groups, that are on one of <paramref name="subnets"/>.</summary>
    public static int OnLinkMembers(FanoutTable table, IReadOnlyCollection<LocalSubnet> subnets)
    {
        var onLink = new HashSet<uint>();
        foreach (FanoutGroup g in table.Groups)
            foreach (uint member in g.Members)
                foreach (LocalSubnet s in subnets)
                    if (s.Contains(member))
                    {
                        onLink.Add(member);
                        break;
                    }
        return onLink.Count;
    }

    /// <summary>The warning for a table with <paramref name="onLink"/> on-link members, or null while they fit.</summary>
    public static string? Warning(int onLink, string iface, int softLimit, int hardLimit) =>
        onLink <= softLimit ? null
            : $"{onLink} members are on-link on {iface}, each needing a neighbour (ARP) entry, but the host's neighbour table " +
              $"evicts idle entries above {softLimit} and holds at most {hardLimit} (net.ipv4.neigh.default.gc_thresh2 and gc_thresh3): " +
              $"raise both above {onLink} plus the host's other neighbours, e.g. sysctl -w net.ipv4.neigh.default.gc_thresh2={Suggest(onLink)} " +
              $"net.ipv4.neigh.default.gc_thresh3={2 * Suggest(onLink)}, or members past the limit get no copies and the host's own sends can fail";

    /// <summary>A round figure with room for the host's other neighbours.</summary>
    private static int Suggest(int onLink) => (onLink + 256 + 511) / 512 * 512;
}
