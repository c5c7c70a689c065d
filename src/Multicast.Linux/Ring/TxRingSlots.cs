using System.Buffers.Binary;
using Multicast.Core.DataPlane;
using Multicast.Linux.Net;

namespace Multicast.Linux.Ring;

/// <summary>
/// ITxSlots over a TX ring: each copy gets an Ethernet header for its next hop and goes into a ring frame; copies whose
/// next hop is not resolved (or whose route leaves by another interface, or too large for a frame) take the slow path,
/// so nothing is dropped while ARP runs. Single producer (the data-plane thread).
/// </summary>
public sealed unsafe class TxRingSlots : ITxSlots
{
    private const int EthernetHeader = 14;
    private const ushort EtherTypeIpv4 = 0x0800;

    private readonly TxRing _ring;
    private readonly NextHopResolver _resolver;
    private readonly ITxSlots _slowPath;
    private readonly ulong _sourceMac;
    private readonly int _maxPacket;
    private int _pendingKind; // 0 none, 1 ring frame, 2 slow path
    private int _pendingLength;

    /// <summary>Copies sent through the slow path (next hop unresolved, other interface, too large).</summary>
    public long SlowPath;
    /// <summary>Copies the slow path could not take either.</summary>
    public long SlowPathFull;
    /// <summary>Copies written into ring frames.</summary>
    public long RingCopies;

    public TxRingSlots(TxRing ring, NextHopResolver resolver, ulong sourceMac, ITxSlots slowPath)
    {
        _ring = ring;
        _resolver = resolver;
        _sourceMac = sourceMac;
        _slowPath = slowPath;
        _maxPacket = ring.Capacity - EthernetHeader;
    }

    public Span<byte> Acquire(uint destination, int length)
    {
        if (length <= _maxPacket && _resolver.TryGetMac(destination, out ulong mac))
        {
            byte* frame = _ring.NextFrame();
            if (frame == null) { _pendingKind = 0; return default; }
            var header = new Span<byte>(frame, EthernetHeader);
            // 8-byte writes then the fields after them: destination MAC (6), source MAC (6), EtherType (2).
            BinaryPrimitives.WriteUInt64BigEndian(header, mac << 16);
            BinaryPrimitives.WriteUInt64BigEndian(header[6..], _sourceMac << 16);
            BinaryPrimitives.WriteUInt16BigEndian(header[12..], EtherTypeIpv4);
            _pendingKind = 1;
            _pendingLength = length;
            return new Span<byte>(frame + EthernetHeader, length);
        }
        Span<byte> slot = _slowPath.Acquire(destination, length);
        if (slot.IsEmpty) { SlowPathFull++; _pendingKind = 0; return slot; }
        _pendingKind = 2;
        return slot;
    }

    public void Commit()
    {
        switch (_pendingKind)
        {
            case 1: _ring.Ready(EthernetHeader + _pendingLength); RingCopies++; break;
            case 2: _slowPath.Commit(); SlowPath++; break;
        }
        _pendingKind = 0;
    }

    /// <summary>Kicks the ring (errors are counted by the ring; queued frames go with the next kick) and the slow path.</summary>
    public void Flush()
    {
        _ring.Kick();
        _slowPath.Flush();
    }
}
