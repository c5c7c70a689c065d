using System.Runtime.Versioning;
using Multicast.Core.DataPlane;
using Multicast.Pcap.Native;

namespace Multicast.Pcap.Tx;

/// <summary>
/// Windows (Npcap): copies are written straight into an Npcap send queue (record header + frame, exactly what
/// pcap_sendqueue_queue would copy there), and one pcap_sendqueue_transmit hands the whole batch to the driver.
/// </summary>
[SupportedOSPlatform("windows")]
public sealed unsafe class NpcapSendQueueTxSlots : EthernetTxSlots
{
    private readonly IntPtr _pcap;
    private readonly SendQueue* _queue;

    public NpcapSendQueueTxSlots(IntPtr pcap, INextHopResolver resolver, ITxSlots slowPath, ulong sourceMac, int mtu, int queueBytes = 1 << 20)
        : base(resolver, slowPath, sourceMac, mtu)
    {
        _pcap = pcap;
        _queue = LibPcap.SendQueueAlloc((uint)queueBytes);
        if (_queue == null) throw new OutOfMemoryException("pcap_sendqueue_alloc failed");
    }

    protected override byte* AcquireFrame(int frameLength)
    {
        if (_queue->Length + PcapRecordHeader.WindowsSize + frameLength > _queue->MaxLength) TransmitQueued();
        return _queue->Buffer + _queue->Length + PcapRecordHeader.WindowsSize;
    }

    protected override void CommitFrame(int frameLength)
    {
        byte* record = _queue->Buffer + _queue->Length;
        // Timestamps only matter for synchronised transmission, which is not used: zero them.
        *(long*)record = 0;
        *(int*)(record + 8) = frameLength; // caplen
        *(int*)(record + 12) = frameLength; // len
        _queue->Length += (uint)(PcapRecordHeader.WindowsSize + frameLength);
    }

    protected override void TransmitQueued()
    {
        uint length = _queue->Length;
        if (length == 0) return;
        uint sent = LibPcap.SendQueueTransmit(_pcap, _queue, 0);
        Batches++;
        // A short count means the driver stopped at a failing frame; the rest of the batch is lost with it.
        if (sent < length) SendErrors++;
        _queue->Length = 0;
    }

    public override void Dispose() => LibPcap.SendQueueDestroy(_queue);
}
