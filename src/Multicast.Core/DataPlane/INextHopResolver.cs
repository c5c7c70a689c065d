namespace Multicast.Core.DataPlane;

/// <summary>
/// What an Ethernet-writing TX needs to know per copy: the MAC of the destination's next hop on the capture interface,
/// or "no" (unresolved, or routed through another interface), in which case the copy takes the kernel-routed slow
/// path. <see cref="TryGetMac"/> runs on the data-plane thread for every copy: it must not block or allocate.
/// </summary>
public interface INextHopResolver : IDisposable
{
    bool TryGetMac(uint destination, out ulong mac);

    /// <summary>Destinations to keep resolved ahead of traffic (all members after a config change).</summary>
    void Watch(IEnumerable<uint> destinations);
}

/// <summary>
/// Every copy goes to the kernel-routed slow path: used when no neighbour source is available on this host, so the
/// engine still forwards everything (slower) instead of dropping.
/// </summary>
public sealed class KernelRoutedOnly : INextHopResolver
{
    public bool TryGetMac(uint destination, out ulong mac) { mac = 0; return false; }
    public void Watch(IEnumerable<uint> destinations) { }
    public void Dispose() { }
}
