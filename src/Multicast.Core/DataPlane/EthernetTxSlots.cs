using System.Buffers.Binary;

namespace Multicast.Core.DataPlane;

/// <summary>
/// ITxSlots that frames each copy itself: Ethernet header for the next hop from the resolver, frame queued in the
/// transmitter's batch (a TX ring, a libpcap inject batch, an Npcap send queue). Copies without a resolved next hop,
/// or larger than a frame may be, go to the slow path (the OS routes, resolves and fragments), so nothing is dropped
/// while ARP runs. Single producer: the data-plane thread.
/// </summary>
public abstract unsafe class EthernetTxSlots : ITxSlots, IDisposable
{
    public const int EthernetHeaderLength = 14;
    private const ushort EtherTypeIpv4 = 0x0800;

    private readonly INextHopResolver _resolver;
    private readonly ITxSlots _slowPath;
    private readonly ulong _sourceMac;
    private int _pending; // 0 none, 1 frame, 2 slow path
    private int _pendingLength;

    /// <summary>Copies framed and queued by this engine.</summary>
    public long FramedCopies;
    /// <summary>Copies handed to the slow path (next hop unresolved or elsewhere, packet above the MTU).</summary>
    public long SlowPathCopies;
    /// <summary>Copies the slow path could not take either (counted by the forwarder as TX-full drops).</summary>
    public long SlowPathFull;
    /// <summary>Frames or batches the transmitter refused (counted after the forwarder counted the copies as sent).</summary>
    public long SendErrors;
    /// <summary>Batches handed to the transmitter.</summary>
    public long Batches;

    /// <param name="maxPacket">Largest IPv4 packet framed directly (the interface MTU).</param>
    protected EthernetTxSlots(INextHopResolver resolver, ITxSlots slowPath, ulong sourceMac, int maxPacket)
    {
        _resolver = resolver;
        _slowPath = slowPath;
        _sourceMac = sourceMac;
        MaxPacket = maxPacket;
    }

    public int MaxPacket { get; }
    public ITxSlots SlowPath => _slowPath;

    public Span<byte> Acquire(uint destination, int length)
    {
        if (length <= MaxPacket && _resolver.TryGetMac(destination, out ulong mac))
        {
            byte* frame = AcquireFrame(EthernetHeaderLength + length);
            if (frame == null) { _pending = 0; return default; } // transmitter full: the forwarder counts the drop
            var header = new Span<byte>(frame, EthernetHeaderLength);
            BinaryPrimitives.WriteUInt64BigEndian(header, mac << 16);
            BinaryPrimitives.WriteUInt64BigEndian(header[6..], _sourceMac << 16);
            BinaryPrimitives.WriteUInt16BigEndian(header[12..], EtherTypeIpv4);
            _pending = 1;
            _pendingLength = length;
            return new Span<byte>(frame + EthernetHeaderLength, length);
        }
        Span<byte> slot = _slowPath.Acquire(destination, length);
        if (slot.IsEmpty) { SlowPathFull++; _pending = 0; return slot; }
        _pending = 2;
        return slot;
    }

    public void Commit()
    {
        switch (_pending)
        {
            case 1: CommitFrame(EthernetHeaderLength + _pendingLength); FramedCopies++; break;
            case 2: _slowPath.Commit(); SlowPathCopies++; break;
        }
        _pending = 0;
    }

    public void Flush()
    {
        TransmitQueued();
        _slowPath.Flush();
    }

    /// <summary>
    /// Room for one frame of <paramref name="frameLength"/> bytes (≤ header + MaxPacket), or null when the transmitter
    /// has none (a TX ring whose frames are all in flight). A batch that can be transmitted at once (pcap) should be,
    /// so the copy waits for the library instead of being dropped.
    /// </summary>
    protected abstract byte* AcquireFrame(int frameLength);

    protected abstract void CommitFrame(int frameLength);

    protected abstract void TransmitQueued();

    public virtual void Dispose() { }
}
