using System.Collections.Frozen;

namespace Multicast.Linux.Net;

/// <summary>Destination → next hop. Immutable: the resolver publishes a new one; lookups never lock or allocate.</summary>
public sealed class NextHopTable
{
    private readonly FrozenDictionary<uint, NextHop> _entries;

    public static NextHopTable Empty { get; } = new(Array.Empty<NextHop>());

    public NextHopTable(IEnumerable<NextHop> entries) =>
        _entries = entries.ToFrozenDictionary(e => e.Destination);

    public int Count => _entries.Count;
    public IEnumerable<NextHop> Entries => _entries.Values;
    public IEnumerable<uint> Destinations => _entries.Keys;

    public bool TryGet(uint destination, out NextHop hop) => _entries.TryGetValue(destination, out hop);

    public bool AnyUnresolved()
    {
        foreach (NextHop h in _entries.Values)
            if (h.State == NextHopState.Unresolved) return true;
        return false;
    }
}
