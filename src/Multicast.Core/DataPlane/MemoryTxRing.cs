namespace Multicast.Core.DataPlane;

/// <summary>
/// An <see cref="ITxSlots"/> over one pre-allocated array of fixed-size slots, with the semantics of a TPACKET TX ring:
/// committed slots stay occupied until <see cref="Flush"/> "transmits" them, and a full ring refuses further packets
/// instead of growing. Tests read the committed packets back; benchmarks use it to measure the forwarders without a
/// kernel. Nothing is allocated after construction.
/// </summary>
public sealed class MemoryTxRing : ITxSlots
{
    private readonly byte[] _buffer;
    private readonly uint[] _destinations;
    private readonly int[] _lengths;
    private int _committed;
    // Index of the slot handed out by the last Acquire and not yet committed; -1 when none.
    private int _pending = -1;

    public MemoryTxRing(int slotCount, int slotSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(slotCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(slotSize);
        SlotCount = slotCount;
        SlotSize = slotSize;
        _buffer = new byte[checked(slotCount * slotSize)];
        _destinations = new uint[slotCount];
        _lengths = new int[slotCount];
    }

    public int SlotCount { get; }
    public int SlotSize { get; }

    /// <summary>Slots committed since the last flush (what the next flush would transmit).</summary>
    public int Count => _committed;

    /// <summary>Packets handed over by all flushes so far.</summary>
    public long Transmitted { get; private set; }

    public long Flushes { get; private set; }

    /// <summary>Acquire calls refused because every slot was committed or the packet exceeded the slot size.</summary>
    public long Refused { get; private set; }

    public Span<byte> Acquire(uint destination, int length)
    {
        if (_committed == SlotCount || (uint)length > (uint)SlotSize)
        {
            Refused++;
            _pending = -1;
            return Span<byte>.Empty;
        }
        // Re-acquiring without a commit reuses the same slot, as a ring frame that was never marked for sending.
        int index = _committed;
        _pending = index;
        _destinations[index] = destination;
        _lengths[index] = length;
        return _buffer.AsSpan(index * SlotSize, length);
    }

    public void Commit()
    {
        if (_pending < 0) throw new InvalidOperationException("Commit without a successful Acquire");
        _committed = _pending + 1;
        _pending = -1;
    }

    public void Flush()
    {
        Transmitted += _committed;
        Flushes++;
        _committed = 0;
        _pending = -1;
    }

    /// <summary>The packet in committed slot <paramref name="index"/> (0 = oldest since the last flush).</summary>
    public ReadOnlySpan<byte> Packet(int index) => _buffer.AsSpan(CheckIndex(index) * SlotSize, _lengths[index]);

    /// <summary>The destination given to Acquire for committed slot <paramref name="index"/>.</summary>
    public uint Destination(int index) => _destinations[CheckIndex(index)];

    private int CheckIndex(int index)
    {
        if ((uint)index >= (uint)_committed) throw new ArgumentOutOfRangeException(nameof(index), index, $"only {_committed} slots are committed");
        return index;
    }
}
