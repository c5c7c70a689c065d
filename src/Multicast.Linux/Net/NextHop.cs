namespace Multicast.Linux.Net;

public enum NextHopState : byte
{
    /// <summary>Route leaves through the ring's interface and the next hop's MAC is known: the TX ring can send.</summary>
    Resolved,
    /// <summary>Route leaves through the ring's interface but the neighbour is not (yet) resolved.</summary>
    Unresolved,
    /// <summary>The route uses another interface (or is local/broadcast/unreachable): only the kernel can send it.</summary>
    NotOnInterface,
}

/// <summary>Where a destination's frames go: next-hop address (host order), its MAC, and whether the ring may use it.</summary>
public readonly record struct NextHop(uint Destination, uint Gateway, ulong Mac, NextHopState State)
{
    public override string ToString() =>
        $"{Core.Packets.IpAddressV4.Format(Destination)} via {Core.Packets.IpAddressV4.Format(Gateway)} " +
        (State == NextHopState.Resolved ? InterfaceInfo.FormatMac(Mac) : State.ToString());
}
