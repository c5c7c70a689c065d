using Microsoft.Extensions.Logging;
using Multicast.Core.DataPlane;
using Multicast.Core.Packets;
using Multicast.Linux.Ring;

namespace Multicast.Linux.Net;

/// <summary>
/// Resolves destinations to the MAC of their next hop on one interface (netlink RTM_GETROUTE, then the neighbour
/// table) for a TX ring that bypasses the kernel's own resolution.
/// The data plane only reads an immutable table; unknown destinations are noted in a fixed array and a background
/// thread resolves them, and refreshes every known entry periodically (faster while any is unresolved) so MAC changes
/// and expiries are followed. This class never sends: the caller's slow-path copy, routed by the kernel, is what
/// starts ARP for an unresolved neighbour, and the next refresh picks the answer up. An entry that expires from the
/// kernel's table (the ring's own traffic never confirms it) drops back to the slow path, which re-resolves it.
/// </summary>
public sealed unsafe class NextHopResolver : INextHopResolver
{
    // Neighbour states with a usable link-layer address: REACHABLE, STALE, DELAY, PROBE, NOARP, PERMANENT.
    private const ushort UsableStates = 0x02 | 0x04 | 0x08 | 0x10 | 0x40 | 0x80;
    private const byte RouteUnicast = 1;
    private const int MissSlots = 64;
    private const int MaxNeighbours = 4096;

    private readonly int _ifindex;
    private readonly ILogger _logger;
    private readonly int _netlink;
    private readonly object _queryLock = new();
    private readonly uint[] _misses = new uint[MissSlots];
    private readonly ShimNeighbour[] _neighbours = GC.AllocateArray<ShimNeighbour>(MaxNeighbours, pinned: true);
    private readonly HashSet<uint> _watched = new();
    private readonly ManualResetEventSlim _wake = new(false);
    private readonly Thread? _thread;
    private readonly TimeSpan _refresh;
    private readonly TimeSpan _refreshWhileUnresolved;
    private NextHopTable _table = NextHopTable.Empty;
    private volatile bool _stopping;

    /// <summary>Lookups that found no entry (each queues the destination for resolution).</summary>
    public long Misses;
    public long Refreshes;

    /// <param name="ifindex">The interface the TX ring sends on; routes through any other are not the ring's.</param>
    /// <param name="startThread">False for tests and callers that drive <see cref="RefreshNow"/> themselves.</param>
    public NextHopResolver(int ifindex, ILogger logger, TimeSpan? refresh = null, bool startThread = true)
    {
        _ifindex = ifindex;
        _logger = logger;
        _refresh = refresh ?? TimeSpan.FromSeconds(1);
        _refreshWhileUnresolved = TimeSpan.FromMilliseconds(Math.Min(100, _refresh.TotalMilliseconds));
        // Opened here so the socket belongs to the caller's network namespace, whichever thread queries it later.
        _netlink = ShimException.Check(Shim.NetlinkOpen(), "netlink");
        if (!startThread) return;
        _thread = new Thread(Loop) { IsBackground = true, Name = $"nexthop-{ifindex}" };
        _thread.Start();
    }

    public NextHopTable Table => Volatile.Read(ref _table);

    /// <summary>Hot path: the next hop's MAC when the ring can send to <paramref name="destination"/>.</summary>
    public bool TryGetMac(uint destination, out ulong mac)
    {
        if (Volatile.Read(ref _table).TryGet(destination, out NextHop hop))
        {
            mac = hop.Mac;
            return hop.State == NextHopState.Resolved;
        }
        mac = 0;
        Misses++;
        int slot = (int)((destination * 2654435761u) >> 26);
        if (Volatile.Read(ref _misses[slot]) != destination)
        {
            Volatile.Write(ref _misses[slot], destination);
            _wake.Set();
        }
        return false;
    }

    /// <summary>Destinations to keep resolved (e.g. every member after a config change), resolved in the background.</summary>
    public void Watch(IEnumerable<uint> destinations)
    {
        lock (_watched)
        {
            _watched.Clear();
            foreach (uint d in destinations) _watched.Add(d);
        }
        _wake.Set();
    }

    /// <summary>Resolves everything known, watched or missed now, and publishes the result.</summary>
    public NextHopTable RefreshNow()
    {
        lock (_queryLock)
        {
            var wanted = new HashSet<uint>(Table.Destinations);
            lock (_watched) wanted.UnionWith(_watched);
            for (int i = 0; i < MissSlots; i++)
            {
                uint d = Interlocked.Exchange(ref _misses[i], 0);
                if (d != 0) wanted.Add(d);
            }
            Dictionary<uint, ulong> neighbours = ReadNeighbours();
            var entries = new List<NextHop>(wanted.Count);
            foreach (uint d in wanted) entries.Add(Lookup(d, neighbours));
            var table = new NextHopTable(entries);
            LogChanges(Table, table);
            Volatile.Write(ref _table, table);
            Refreshes++;
            return table;
        }
    }

    /// <summary>One destination's next hop, straight from the kernel (not published).</summary>
    public NextHop Resolve(uint destination)
    {
        lock (_queryLock) return Lookup(destination, ReadNeighbours());
    }

    private NextHop Lookup(uint destination, Dictionary<uint, ulong> neighbours)
    {
        int r = Shim.RouteGet(_netlink, Shim.ToNetwork(destination), out ShimRoute route);
        if (r < 0 || route.Type != RouteUnicast || route.OutputInterface != _ifindex)
            return new NextHop(destination, 0, 0, NextHopState.NotOnInterface);
        uint gateway = route.Gateway != 0 ? Shim.ToNetwork(route.Gateway) : destination;
        return neighbours.TryGetValue(gateway, out ulong mac)
            ? new NextHop(destination, gateway, mac, NextHopState.Resolved)
            : new NextHop(destination, gateway, 0, NextHopState.Unresolved);
    }

    private Dictionary<uint, ulong> ReadNeighbours()
    {
        var result = new Dictionary<uint, ulong>();
        int n;
        fixed (ShimNeighbour* p = _neighbours) n = Shim.NeighbourList(_netlink, _ifindex, p, MaxNeighbours);
        if (n < 0)
        {
            _logger.LogWarning("{Error}", ShimException.FromResult(n, "neighbour table").Message);
            return result;
        }
        for (int i = 0; i < n; i++)
        {
            ref ShimNeighbour e = ref _neighbours[i];
            if ((e.State & UsableStates) == 0 || e.MacLength != 6) continue;
            ulong mac = 0;
            for (int b = 0; b < 6; b++) mac = mac << 8 | e.Mac[b];
            result[Shim.ToNetwork(e.Ip)] = mac;
        }
        return result;
    }

    private void LogChanges(NextHopTable before, NextHopTable after)
    {
        if (!_logger.IsEnabled(LogLevel.Debug)) return;
        foreach (NextHop h in after.Entries)
            if (!before.TryGet(h.Destination, out NextHop old) || old != h)
                _logger.LogDebug("next hop {Hop}", h);
    }

    private void Loop()
    {
        while (!_stopping)
        {
            _wake.Wait(Table.AnyUnresolved() ? _refreshWhileUnresolved : _refresh);
            if (_stopping) break;
            _wake.Reset();
            try { RefreshNow(); }
            catch (Exception e) { _logger.LogWarning(e, "next-hop refresh failed"); }
        }
    }

    public void Dispose()
    {
        if (_stopping) return;
        _stopping = true;
        _wake.Set();
        _thread?.Join();
        lock (_queryLock) Shim.FdClose(_netlink);
        _wake.Dispose();
    }

}
