using Microsoft.Extensions.Logging;
using Multicast.Core.DataPlane;
using Multicast.Linux.Ring;

namespace Multicast.Linux.Net;

/// <summary>
/// Routes (RTM_GETROUTE per destination, again only after the kernel announced a change) and neighbours (one
/// RTM_GETNEIGH dump per refresh pass) over netlink sockets of the creator's network namespace. It never sends: the
/// engine's slow-path copy, routed by the kernel, is what starts ARP for an unresolved neighbour, and the next pass
/// picks the answer up. An entry that expires from the kernel's table (the ring's own traffic never confirms it) drops
/// back to the slow path, which re-resolves it.
/// </summary>
public sealed unsafe class NetlinkNextHopSource : INextHopSource, IDisposable
{
    // Neighbour states with a usable link-layer address: REACHABLE, STALE, DELAY, PROBE, NOARP, PERMANENT.
    private const ushort UsableStates = 0x02 | 0x04 | 0x08 | 0x10 | 0x40 | 0x80;
    private const byte RouteUnicast = 1;
    private const int MaxNeighbours = 4096;

    private readonly int _ifindex;
    private readonly ILogger _logger;
    private int _netlink;
    private int _events;
    private readonly ShimNeighbour[] _buffer = GC.AllocateArray<ShimNeighbour>(MaxNeighbours, pinned: true);
    private readonly Dictionary<uint, ulong> _neighbours = new();

    /// <param name="ifindex">The interface whose neighbours are read (routes by others are answered all the same).</param>
    public NetlinkNextHopSource(int ifindex, ILogger logger)
    {
        _ifindex = ifindex;
        _logger = logger;
        // Opened here so the socket belongs to the caller's network namespace, whichever thread queries it later.
        _netlink = ShimException.Check(Shim.NetlinkOpen(), "netlink");
        _events = Shim.NetlinkOpenRouteEvents();
        if (_events < 0)
            _logger.LogWarning("{Error}; every route is looked up again every second",
                ShimException.FromResult(_events, "netlink route events").Message);
    }

    /// <summary>True when the kernel announced a route, rule, address or link change since the last call (or cannot tell).</summary>
    public bool RoutesChanged() => _events < 0 || Shim.NetlinkRouteEvents(_events) != 0;

    public bool TryRoute(uint destination, out int interfaceIndex, out uint nextHop)
    {
        int r = Shim.RouteGet(_netlink, Shim.ToNetwork(destination), out ShimRoute route);
        interfaceIndex = route.OutputInterface;
        nextHop = route.Gateway != 0 ? Shim.ToNetwork(route.Gateway) : destination;
        return r >= 0 && route.Type == RouteUnicast;
    }

    public NeighbourState Neighbour(int interfaceIndex, uint nextHop, out ulong mac) =>
        interfaceIndex == _ifindex && _neighbours.TryGetValue(nextHop, out mac) ? NeighbourState.Resolved : Unresolved(out mac);

    private static NeighbourState Unresolved(out ulong mac) { mac = 0; return NeighbourState.Unresolved; }

    /// <summary>Nothing to do: the slow-path copy makes the kernel resolve it (see the class summary).</summary>
    public void Resolve(int interfaceIndex, uint nextHop) { }

    /// <summary>Reads the neighbour table into the same dictionary every pass (only the refresh pass reads it).</summary>
    public void BeginPass()
    {
        Dictionary<uint, ulong> result = _neighbours;
        result.Clear();
        int n;
        fixed (ShimNeighbour* p = _buffer) n = Shim.NeighbourList(_netlink, _ifindex, p, MaxNeighbours);
        if (n < 0)
        {
            _logger.LogWarning("{Error}", ShimException.FromResult(n, "neighbour table").Message);
            return;
        }
        for (int i = 0; i < n; i++)
        {
            ref ShimNeighbour e = ref _buffer[i];
            if ((e.State & UsableStates) == 0 || e.MacLength != 6) continue;
            ulong mac = 0;
            for (int b = 0; b < 6; b++) mac = mac << 8 | e.Mac[b];
            result[Shim.ToNetwork(e.Ip)] = mac;
        }
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _netlink, -1);
        if (fd >= 0) Shim.FdClose(fd);
        fd = Interlocked.Exchange(ref _events, -1);
        if (fd >= 0) Shim.FdClose(fd);
    }
}
