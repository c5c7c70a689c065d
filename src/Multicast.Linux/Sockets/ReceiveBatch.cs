using System.Runtime.InteropServices;

namespace Multicast.Linux.Sockets;

/// <summary>
/// Pre-sized native memory for one recvmmsg call: N buffers, N Iovecs, N control areas. Allocated once; the receive
/// loop reads frames as spans over it, so nothing is allocated per packet.
/// </summary>
internal sealed unsafe class ReceiveBatch : IDisposable
{
    private const int ControlSize = 96; // CMSG_SPACE(sizeof(tpacket_auxdata)) 40 + CMSG_SPACE(sizeof(timespec)) 32
    private readonly byte* _memory;
    private readonly Mmsghdr* _messages;
    private readonly Iovec* _Iovecs;
    private readonly byte* _controls;
    private readonly byte* _buffers;

    public int Capacity { get; }
    public int BufferSize { get; }

    public ReceiveBatch(int capacity, int bufferSize)
    {
        Capacity = capacity;
        BufferSize = bufferSize;
        nuint total = (nuint)(capacity * (sizeof(Mmsghdr) + sizeof(Iovec) + ControlSize) + capacity * bufferSize);
        _memory = (byte*)NativeMemory.AlignedAlloc(total, 64);
        NativeMemory.Clear(_memory, total);
        _messages = (Mmsghdr*)_memory;
        _Iovecs = (Iovec*)(_messages + capacity);
        _controls = (byte*)(_Iovecs + capacity);
        _buffers = _controls + capacity * ControlSize;
        for (int i = 0; i < capacity; i++)
        {
            _Iovecs[i].Base = _buffers + (long)i * bufferSize;
            _Iovecs[i].Length = (nuint)bufferSize;
        }
        Reset();
    }

    public Mmsghdr* Messages => _messages;

    /// <summary>The kernel overwrites lengths and flags on every call; restore them before the next one.</summary>
    public void Reset()
    {
        for (int i = 0; i < Capacity; i++)
        {
            ref Msghdr h = ref _messages[i].Header;
            h.Iov = _Iovecs + i;
            h.IovLength = 1;
            h.Control = _controls + i * ControlSize;
            h.ControlLength = ControlSize;
            h.Flags = 0;
            _messages[i].Length = 0;
        }
    }

    public ReadOnlySpan<byte> Packet(int i) => new(_buffers + (long)i * BufferSize, (int)Math.Min(_messages[i].Length, (uint)BufferSize));

    public bool Truncated(int i) => (_messages[i].Header.Flags & Libc.MSG_TRUNC) != 0;

    /// <summary>
    /// What the kernel said of frame <paramref name="i"/> besides its bytes, in one walk of its control messages:
    /// tp_status from PACKET_AUXDATA and the capture time from SCM_TIMESTAMPNS (ns since the epoch, CLOCK_REALTIME),
    /// each 0 when absent.
    /// </summary>
    public (uint AuxStatus, long CapturedAtNs) Control(int i)
    {
        ref Msghdr h = ref _messages[i].Header;
        uint status = 0;
        long captured = 0;
        foreach (ControlMessage m in new ControlMessages(h.Control, h.ControlLength))
        {
            if (m.Level == Libc.SOL_PACKET && m.Type == Libc.PACKET_AUXDATA && m.Length >= sizeof(TpacketAuxdata))
                status = ((TpacketAuxdata*)m.Data)->Status;
            else if (m.Level == Libc.SOL_SOCKET && m.Type == Libc.SO_TIMESTAMPNS && m.Length >= sizeof(Timespec))
                captured = ((Timespec*)m.Data)->Seconds * 1_000_000_000L + ((Timespec*)m.Data)->Nanoseconds;
        }
        return (status, captured);
    }

    public void Dispose() => NativeMemory.AlignedFree(_memory);
}
