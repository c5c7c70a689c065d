using System.Runtime.InteropServices;
using Multicast.Core.DataPlane;
using Multicast.Pcap.Native;

namespace Multicast.Pcap.Tx;

/// <summary>
/// Linux (libpcap): libpcap has no batch send, so frames are gathered in pre-allocated native slots and sent with one
/// pcap_sendpacket each at the end of a capture batch (or when the slots are full). Gathering still keeps the
/// capture loop tight and leaves one place to swap in a batched call.
/// </summary>
public sealed unsafe class LibpcapInjectTxSlots : EthernetTxSlots
{
    private readonly IntPtr _pcap;
    private readonly int _capacity;
    private readonly int _slotSize;
    private readonly byte* _buffers;
    private readonly int* _lengths;
    private int _count;

    public LibpcapInjectTxSlots(IntPtr pcap, INextHopResolver resolver, ITxSlots slowPath, ulong sourceMac, int mtu, int capacity = 64)
        : base(resolver, slowPath, sourceMac, mtu)
    {
        _pcap = pcap;
        _capacity = capacity;
        _slotSize = (EthernetHeaderLength + mtu + 63) & ~63;
        _buffers = (byte*)NativeMemory.AlignedAlloc((nuint)((long)capacity * _slotSize), 64);
        _lengths = (int*)NativeMemory.Alloc((nuint)capacity, sizeof(int));
    }

    public int LastError { get; private set; }

    protected override byte* AcquireFrame(int frameLength)
    {
        if (_count == _capacity) TransmitQueued();
        return _buffers + (long)_count * _slotSize;
    }

    protected override void CommitFrame(int frameLength) => _lengths[_count++] = frameLength;

    protected override void TransmitQueued()
    {
        if (_count == 0) return;
        for (int i = 0; i < _count; i++)
            if (LibPcap.SendPacket(_pcap, _buffers + (long)i * _slotSize, _lengths[i]) != 0) SendErrors++;
        Batches++;
        _count = 0;
    }

    public override void Dispose()
    {
        NativeMemory.AlignedFree(_buffers);
        NativeMemory.Free(_lengths);
    }
}
