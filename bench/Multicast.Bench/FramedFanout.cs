using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging.Abstractions;
using Multicast.Core.DataPlane;

namespace Multicast.Bench;

/// <summary>
/// The ring engine's TX slots without the kernel: <see cref="EthernetTxSlots"/> (next-hop lookup and Ethernet header per
/// copy) over pinned fixed-size frames that a flush empties, as the kick empties a TPACKET TX ring.
/// </summary>
internal sealed unsafe class MemoryFramedRing : EthernetTxSlots
{
    private readonly byte[] _frames;
    private readonly byte* _base;
    private readonly int _frameSize, _frameCount;
    private int _committed;

    public MemoryFramedRing(INextHopResolver resolver, int frameCount, int frameSize)
        : base(resolver, new MemoryTxRing(1, frameSize), sourceMac: 0x02_00_00_00_00_01, maxPacket: frameSize - EthernetHeaderLength)
    {
        _frameSize = frameSize;
        _frameCount = frameCount;
        _frames = GC.AllocateArray<byte>(frameCount * frameSize, pinned: true);
        _base = (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(_frames, 0);
    }

    protected override byte* AcquireFrame(int frameLength) =>
        _committed == _frameCount ? null : _base + (long)_committed * _frameSize;

    protected override void CommitFrame(int frameLength) => _committed++;

    protected override void TransmitQueued() => _committed = 0;
}

/// <summary>A routing table and neighbour cache where every member is on-link and resolved.</summary>
internal sealed class ResolvedNeighbours : INextHopSource
{
    private const int InterfaceIndex = 2;

    /// <summary>
    /// The engine's next-hop cache with every member resolved, as it is once ARP has answered. (FanoutBenchmarks'
    /// setup checks that every copy is then framed, none sent by the slow path.)
    /// </summary>
    public static NextHopCache Cache(uint[] members)
    {
        var cache = new NextHopCache(new ResolvedNeighbours(), InterfaceIndex, NullLogger.Instance, startThread: false);
        cache.Watch(members);
        cache.RefreshNow();
        return cache;
    }

    public bool TryRoute(uint destination, out int interfaceIndex, out uint nextHop)
    {
        interfaceIndex = InterfaceIndex;
        nextHop = destination;
        return true;
    }

    public NeighbourState Neighbour(int interfaceIndex, uint nextHop, out ulong mac)
    {
        mac = 0x02_00_00_00_00_00UL | nextHop;
        return NeighbourState.Resolved;
    }

    public void Resolve(int interfaceIndex, uint nextHop) { }
}
