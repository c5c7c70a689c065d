using System.Collections.Frozen;
using Microsoft.Extensions.Logging;
using Multicast.Core.Packets;

namespace Multicast.Core.DataPlane;

public enum NextHopKind : byte
{
    /// <summary>Leaves by the engine's interface and the next hop's MAC is known: the engine frames it itself.</summary>
    Direct,
    /// <summary>Leaves by the engine's interface, neighbour not resolved yet: slow path while the OS resolves it.</summary>
    Resolving,
    /// <summary>Another interface, or no route: only the OS can send it (slow path, no resolution attempted).</summary>
    Elsewhere,
}

public readonly record struct NextHopEntry(uint Destination, uint NextHop, ulong Mac, NextHopKind Kind)
{
    public override string ToString() =>
        $"{IpAddressV4.Format(Destination)} via {IpAddressV4.Format(NextHop)}: {Kind}" + (Kind == NextHopKind.Direct ? $" {Mac:x12}" : "");
}

/// <summary>
/// The one next-hop cache of every engine that writes Ethernet frames itself (ring on Linux, pcap on Linux and
/// Windows), over the platform's <see cref="INextHopSource"/>. The data plane reads an immutable
/// snapshot; unknown destinations are noted in a fixed array (no allocation, no lock) and a background refresh
/// resolves them, re-checks every known entry periodically (faster while any is resolving, so a copy leaves the slow
/// path soon after ARP answers; routes only when the source heard of a change, or every <see cref="FullPassEvery"/>
/// passes), and asks the OS to resolve what is incomplete. Nothing is ever dropped here: "no MAC"
/// always means "send it through the OS".
/// </summary>
public sealed class NextHopCache : INextHopResolver
{
    private const int MissSlots = 64;
    public const int MaxUnwatched = 4096;
    /// <summary>
    /// Every this many passes every route is looked up again even if the source heard of no change: a safety net for a
    /// lost notification, at a thirtieth of the cost of asking every second.
    /// </summary>
    public const int FullPassEvery = 30;

    private readonly INextHopSource _source;
    private readonly int _interfaceIndex;
    private readonly ILogger _logger;
    private readonly uint[] _misses = new uint[MissSlots];
    private readonly HashSet<uint> _watched = new();
    private readonly HashSet<uint> _wanted = new();
    private readonly Dictionary<uint, NextHopEntry> _next = new();
    private readonly HashSet<(int, uint)> _toResolve = new();
    private int _passesSinceFull = FullPassEvery;
    private readonly object _refreshLock = new();
    private readonly ManualResetEventSlim _wake = new(false);
    private readonly Thread? _thread;
    private readonly TimeSpan _refresh;
    private readonly TimeSpan _refreshWhileResolving;
    private FrozenDictionary<uint, NextHopEntry> _entries = FrozenDictionary<uint, NextHopEntry>.Empty;
    private volatile bool _stopping;

    /// <summary>Lookups that found no entry.</summary>
    public long Misses;
    public long Refreshes;
    /// <summary>Resolution requests handed to the OS.</summary>
    public long ResolveRequests;

    /// <param name="interfaceIndex">The interface the engine transmits on; routes by any other are not its to frame.</param>
    /// <param name="startThread">False when the caller drives <see cref="RefreshNow"/> (tests).</param>
    public NextHopCache(INextHopSource source, int interfaceIndex, ILogger logger, TimeSpan? refresh = null, bool startThread = true)
    {
        _source = source;
        _interfaceIndex = interfaceIndex;
        _logger = logger;
        _refresh = refresh ?? TimeSpan.FromSeconds(1);
        _refreshWhileResolving = TimeSpan.FromMilliseconds(Math.Min(100, _refresh.TotalMilliseconds));
        if (!startThread) return;
        _thread = new Thread(Loop) { IsBackground = true, Name = $"nexthop-{interfaceIndex}" };
        _thread.Start();
    }

    public IReadOnlyCollection<NextHopEntry> Entries => Volatile.Read(ref _entries).Values;

    public bool TryGetEntry(uint destination, out NextHopEntry entry) => Volatile.Read(ref _entries).TryGetValue(destination, out entry);

    public bool TryGetMac(uint destination, out ulong mac)
    {
        if (Volatile.Read(ref _entries).TryGetValue(destination, out NextHopEntry e))
        {
            mac = e.Mac;
            return e.Kind == NextHopKind.Direct;
        }
        mac = 0;
        Misses++;
        // Fibonacci hash into a small table: a burst of misses for one destination wakes the refresher once.
        int slot = (int)((destination * 2654435761u) >> 26);
        if (Volatile.Read(ref _misses[slot]) != destination)
        {
            Volatile.Write(ref _misses[slot], destination);
            _wake.Set();
        }
        return false;
    }

    public void Watch(IEnumerable<uint> destinations)
    {
        lock (_watched)
        {
            _watched.Clear();
            foreach (uint d in destinations) _watched.Add(d);
        }
        _wake.Set();
    }

    /// <summary>
    /// One refresh pass: the neighbour, and on a full pass the route, of every watched destination, every miss since the
    /// last pass and every entry already known (a destination not known yet always gets its route looked up). Known
    /// entries nobody watches are kept (the data plane cannot report that it still uses them without writing on the hot
    /// path) until there are more than <see cref="MaxUnwatched"/>; then they are forgotten, and one still in use comes
    /// back through the miss path.
    /// </summary>
    public void RefreshNow()
    {
        lock (_refreshLock)
        {
            FrozenDictionary<uint, NextHopEntry> before = Volatile.Read(ref _entries);
            // The pass's sets are kept from one pass to the next: with thousands of members, new ones every second
            // were large-object garbage, and the collections it caused stop the data plane.
            HashSet<uint> wanted = _wanted;
            wanted.Clear();
            lock (_watched) wanted.UnionWith(_watched);
            for (int i = 0; i < MissSlots; i++)
            {
                uint d = Interlocked.Exchange(ref _misses[i], 0);
                if (d != 0) wanted.Add(d);
            }
            if (before.Count - wanted.Count <= MaxUnwatched)
                foreach (uint d in before.Keys) wanted.Add(d);
            _source.BeginPass();
            // Routes change rarely and the kernel announces it; a neighbour's MAC can change any time. So between
            // changes a known destination keeps its route and only its next hop's MAC is read again (from the dump
            // BeginPass took): one netlink request a second instead of one per member.
            bool routesChanged = _source.RoutesChanged();
            bool fullPass = routesChanged || ++_passesSinceFull >= FullPassEvery;
            if (fullPass) _passesSinceFull = 0;
            Dictionary<uint, NextHopEntry> next = _next;
            next.Clear();
            _toResolve.Clear();
            foreach (uint d in wanted)
            {
                NextHopEntry e = fullPass || !before.TryGetValue(d, out NextHopEntry known) ? Lookup(d) : Reread(known);
                next[d] = e;
                if (e.Kind == NextHopKind.Resolving) _toResolve.Add((_interfaceIndex, e.NextHop));
            }
            // Most passes find what the last one found: then the data plane keeps the snapshot it has.
            if (!SameEntries(before, next))
            {
                FrozenDictionary<uint, NextHopEntry> published = next.ToFrozenDictionary();
                LogChanges(before, published);
                Volatile.Write(ref _entries, published);
            }
            Refreshes++;
            foreach ((int index, uint hop) in _toResolve)
            {
                ResolveRequests++;
                try { _source.Resolve(index, hop); }
                catch (Exception ex) { _logger.LogDebug("resolving {Hop} failed: {Message}", IpAddressV4.Format(hop), ex.Message); }
            }
        }
    }

    private static bool SameEntries(FrozenDictionary<uint, NextHopEntry> published, Dictionary<uint, NextHopEntry> found)
    {
        if (published.Count != found.Count) return false;
        foreach (KeyValuePair<uint, NextHopEntry> e in found)
            if (!published.TryGetValue(e.Key, out NextHopEntry old) || old != e.Value) return false;
        return true;
    }

    /// <summary>A known destination with its route kept: only its next hop's MAC is read again.</summary>
    private NextHopEntry Reread(NextHopEntry known)
    {
        if (known.Kind == NextHopKind.Elsewhere) return known;
        return _source.Neighbour(_interfaceIndex, known.NextHop, out ulong mac) == NeighbourState.Resolved
            ? known with { Mac = mac, Kind = NextHopKind.Direct }
            : known with { Mac = 0, Kind = NextHopKind.Resolving };
    }

    private NextHopEntry Lookup(uint destination)
    {
        if (!_source.TryRoute(destination, out int index, out uint hop) || index != _interfaceIndex)
            return new NextHopEntry(destination, 0, 0, NextHopKind.Elsewhere);
        return _source.Neighbour(index, hop, out ulong mac) == NeighbourState.Resolved
            ? new NextHopEntry(destination, hop, mac, NextHopKind.Direct)
            : new NextHopEntry(destination, hop, 0, NextHopKind.Resolving);
    }

    private bool AnyResolving()
    {
        foreach (NextHopEntry e in Volatile.Read(ref _entries).Values)
            if (e.Kind == NextHopKind.Resolving) return true;
        return false;
    }

    private void LogChanges(FrozenDictionary<uint, NextHopEntry> before, FrozenDictionary<uint, NextHopEntry> after)
    {
        if (!_logger.IsEnabled(LogLevel.Debug)) return;
        foreach (NextHopEntry e in after.Values)
            if (!before.TryGetValue(e.Destination, out NextHopEntry old) || old != e)
                _logger.LogDebug("next hop {Entry}", e);
    }

    private void Loop()
    {
        while (!_stopping)
        {
            _wake.Wait(AnyResolving() ? _refreshWhileResolving : _refresh);
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
        _wake.Dispose();
        lock (_refreshLock) (_source as IDisposable)?.Dispose();
    }
}
