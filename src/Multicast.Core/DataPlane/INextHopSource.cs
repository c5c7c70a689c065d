namespace Multicast.Core.DataPlane;

public enum NeighbourState : byte
{
    /// <summary>A usable link-layer address is known.</summary>
    Resolved,
    /// <summary>Not in the neighbour cache, incomplete or unreachable: the OS has to (re)resolve it.</summary>
    Unresolved,
}

/// <summary>
/// The operating system's routing table and neighbour cache, one question at a time (netlink on Linux, IP Helper on
/// Windows, a fake in tests). Called only from the cache's refresh pass, never from the data plane, so calls may block.
/// </summary>
public interface INextHopSource
{
    /// <summary>
    /// The route to <paramref name="destination"/>: the interface it leaves by and the next hop (the gateway, or the
    /// destination itself when on-link). False when there is no unicast route.
    /// </summary>
    bool TryRoute(uint destination, out int interfaceIndex, out uint nextHop);

    NeighbourState Neighbour(int interfaceIndex, uint nextHop, out ulong mac);

    /// <summary>Asks the OS to resolve a neighbour (ARP). May block until it answers or gives up.</summary>
    void Resolve(int interfaceIndex, uint nextHop);

    /// <summary>A refresh pass starts: a source that reads the whole neighbour table at once does it here.</summary>
    void BeginPass() { }

    /// <summary>
    /// Whether routes may have changed since the last call. A source that hears of changes (netlink) says false while
    /// none came, and the cache then keeps each known destination's route and only re-reads its next hop's MAC; true,
    /// the default, asks for every route again on every pass.
    /// </summary>
    bool RoutesChanged() => true;
}
