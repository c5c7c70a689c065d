using Multicast.Core.DataPlane;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Multicast.Pcap.NextHop;

/// <summary>
/// Windows routing table and neighbour cache through the IP Helper API: GetBestRoute2 for the route (interface and
/// next hop), GetIpNetEntry2 for the neighbour's MAC, ResolveIpNetEntry2 to make Windows ARP for it. The structs are
/// read at fixed offsets of the x64 layouts (MIB_IPFORWARD_ROW2: 104 bytes, MIB_IPNET_ROW2: 88 bytes) into
/// oversized buffers, so a layout surprise reads garbage but never writes past our memory.
/// </summary>
[SupportedOSPlatform("windows")]
public sealed unsafe partial class IpHelperNextHopSource : INextHopSource
{
    private const ushort AfInet = 2;
    private const int NoError = 0;
    private const int RouteRowSize = 104, RouteIfIndex = 8, RouteNextHop = 44;
    private const int NetRowSize = 88, NetIfIndex = 28, NetPhysical = 40, NetPhysicalLength = 72, NetState = 76;
    // NL_NEIGHBOR_STATE: Unreachable 0, Incomplete 1, Probe 2, Delay 3, Stale 4, Reachable 5, Permanent 6.
    private const int FirstUsableState = 2;

    public bool TryRoute(uint destination, out int interfaceIndex, out uint nextHop)
    {
        byte* route = stackalloc byte[256];
        byte* source = stackalloc byte[64];
        byte* target = stackalloc byte[64];
        new Span<byte>(route, 256).Clear();
        new Span<byte>(source, 64).Clear();
        WriteSockaddr(target, destination);
        int r = GetBestRoute2(null, 0, null, target, 0, route, source);
        if (r != NoError) { interfaceIndex = 0; nextHop = 0; return false; }
        interfaceIndex = *(int*)(route + RouteIfIndex);
        uint gateway = ReadSockaddr(route + RouteNextHop);
        // An on-link route has the unspecified address as next hop: the destination is its own next hop.
        nextHop = gateway != 0 ? gateway : destination;
        return true;
    }

    public NeighbourState Neighbour(int interfaceIndex, uint nextHop, out ulong mac)
    {
        byte* row = stackalloc byte[256];
        InitRow(row, interfaceIndex, nextHop);
        mac = 0;
        if (GetIpNetEntry2(row) != NoError) return NeighbourState.Unresolved;
        int state = *(int*)(row + NetState);
        if (state < FirstUsableState || *(uint*)(row + NetPhysicalLength) != 6) return NeighbourState.Unresolved;
        for (int i = 0; i < 6; i++) mac = mac << 8 | row[NetPhysical + i];
        return NeighbourState.Resolved;
    }

    public void Resolve(int interfaceIndex, uint nextHop)
    {
        byte* row = stackalloc byte[256];
        InitRow(row, interfaceIndex, nextHop);
        // Blocks until Windows has an answer or gives up; the cache calls it from its background thread.
        _ = ResolveIpNetEntry2(row, null);
    }

    private static void InitRow(byte* row, int interfaceIndex, uint address)
    {
        new Span<byte>(row, 256).Clear();
        WriteSockaddr(row, address);
        *(int*)(row + NetIfIndex) = interfaceIndex;
    }

    // SOCKADDR_INET holding a sockaddr_in: family (host order), port, address (network order).
    private static void WriteSockaddr(byte* p, uint address)
    {
        new Span<byte>(p, 28).Clear();
        *(ushort*)p = AfInet;
        BinaryPrimitives.WriteUInt32BigEndian(new Span<byte>(p + 4, 4), address);
    }

    private static uint ReadSockaddr(byte* p) =>
        *(ushort*)p == AfInet ? BinaryPrimitives.ReadUInt32BigEndian(new ReadOnlySpan<byte>(p + 4, 4)) : 0;

    [LibraryImport("iphlpapi.dll")]
    private static partial int GetBestRoute2(void* interfaceLuid, int interfaceIndex, void* sourceAddress, void* destinationAddress,
        uint addressSortOptions, void* bestRoute, void* bestSourceAddress);

    [LibraryImport("iphlpapi.dll")]
    private static partial int GetIpNetEntry2(void* row);

    [LibraryImport("iphlpapi.dll")]
    private static partial int ResolveIpNetEntry2(void* row, void* sourceAddress);
}
