using Multicast.Core.Tables;

namespace Multicast.Core.DataPlane;

/// <summary>
/// Remembers which route the first fragment of a datagram matched, so the later fragments (which carry no UDP port)
/// are restored to the same group. Fixed size, overwritten on collision: a lost entry costs one datagram of a server
/// with several routes, never memory.
/// </summary>
public sealed class FragmentRoutes
{
    private const int Size = 1024;
    private readonly Entry[] _entries = new Entry[Size];

    private struct Entry
    {
        public uint Source;
        public ushort Id;
        public ClientRoute? Route;
    }

    public void Remember(uint source, ushort id, ClientRoute route)
    {
        ref Entry e = ref _entries[Index(source, id)];
        e.Source = source;
        e.Id = id;
        e.Route = route;
    }

    public ClientRoute? Find(uint source, ushort id)
    {
        ref Entry e = ref _entries[Index(source, id)];
        return e.Route is not null && e.Source == source && e.Id == id ? e.Route : null;
    }

    private static int Index(uint source, ushort id) => (int)((source * 2654435761u ^ id) & (Size - 1));
}
