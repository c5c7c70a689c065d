using Multicast.Core.Packets;

namespace Multicast.Core.Tables;

/// <summary>An IPv4 subnet on the server's interface (address and prefix length).</summary>
public readonly record struct LocalSubnet(uint Address, int PrefixLength)
{
    // A C# shift by 32 is a shift by 0, so /0 is spelled out.
    private uint Mask => PrefixLength <= 0 ? 0 : uint.MaxValue << (32 - Math.Min(PrefixLength, 32));

    /// <summary>The subnet's directed broadcast; none for /31 and /32, whose every address is a host.</summary>
    public uint? Broadcast => PrefixLength <= 30 ? Address | ~Mask : null;

    /// <summary>Whether <paramref name="address"/> is on this subnet's link (reached without a gateway).</summary>
    public bool Contains(uint address) => ((address ^ Address) & Mask) == 0;

    public override string ToString() => $"{IpAddressV4.Format(Address & Mask)}/{PrefixLength}";
}

/// <summary>
/// Members that are the directed broadcast of one of the server's own subnets. The configuration cannot tell (10.0.1.255
/// is an ordinary host in a /23), but the daemon knows its subnets, and the kernel refuses unicast sends to such an
/// address, so every copy to it would fail.
/// </summary>
public static class DirectedBroadcast
{
    public static IEnumerable<(uint Group, uint Member, LocalSubnet Subnet)> Find(FanoutTable table, IReadOnlyCollection<LocalSubnet> subnets)
    {
        foreach (FanoutGroup g in table.Groups)
            foreach (uint member in g.Members)
                foreach (LocalSubnet s in subnets)
                    if (s.Broadcast == member)
                    {
                        yield return (g.GroupIp, member, s);
                        break;
                    }
    }
}
