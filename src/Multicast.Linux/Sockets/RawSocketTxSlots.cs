using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Multicast.Core.DataPlane;
using Multicast.Core.Packets;

namespace Multicast.Linux.Sockets;

/// <summary>
/// ITxSlots over an IPPROTO_RAW socket (header included): packets are queued into pre-allocated slots and sent with
/// one sendmmsg per batch. The kernel routes each packet and resolves neighbours, so this is also the slow path of
/// engines that write frames themselves.
/// </summary>
public sealed unsafe class RawSocketTxSlots : ITxSlots, IDisposable
{
    private readonly int _fd;
    private readonly byte* _memory;
    private readonly Mmsghdr* _messages;
    private readonly Iovec* _Iovecs;
    private readonly SockaddrIn* _names;
    private readonly byte* _buffers;
    private readonly int _capacity;
    private readonly int _slotSize;
    private int _count;
    private int _acquiredLength = -1;

    /// <summary>sendmmsg calls made.</summary>
    public long Batches;
    /// <summary>Packets the kernel refused (error per packet is skipped, the rest of the batch still goes).</summary>
    public long SendErrors;
    public int LastSendError;

    /// <param name="multicastInterface">
    /// For local delivery: packets to a group leave through this interface with IP_MULTICAST_LOOP on, so the kernel
    /// hands them to local sockets joined on it (a TTL of 0 keeps them off the wire).
    /// </param>
    public RawSocketTxSlots(int capacity = 256, int slotSize = 65535, string? multicastInterface = null)
    {
        _capacity = capacity;
        _slotSize = slotSize;
        _fd = SocketOps.Open(Libc.AF_INET, Libc.SOCK_RAW, Libc.IPPROTO_RAW, "AF_INET, SOCK_RAW, IPPROTO_RAW");
        try
        {
            SocketOps.SetBuffer(_fd, receive: false, 4 << 20);
            if (multicastInterface is not null)
            {
                var mreq = new IpMreqn { IfIndex = SocketOps.InterfaceIndex(multicastInterface) };
                if (Libc.setsockopt(_fd, Libc.IPPROTO_IP, Libc.IP_MULTICAST_IF, &mreq, (uint)sizeof(IpMreqn)) != 0)
                    SocketOps.Fail($"setsockopt(IP_MULTICAST_IF, {multicastInterface})", Libc.LastError);
                SocketOps.SetInt(_fd, Libc.IPPROTO_IP, Libc.IP_MULTICAST_LOOP, 1, "IP_MULTICAST_LOOP");
            }
        }
        catch
        {
            Libc.close(_fd);
            throw;
        }
        nuint total = (nuint)(capacity * (sizeof(Mmsghdr) + sizeof(Iovec) + sizeof(SockaddrIn)) + (long)capacity * slotSize);
        _memory = (byte*)NativeMemory.AlignedAlloc(total, 64);
        NativeMemory.Clear(_memory, total);
        _messages = (Mmsghdr*)_memory;
        _Iovecs = (Iovec*)(_messages + capacity);
        _names = (SockaddrIn*)(_Iovecs + capacity);
        _buffers = (byte*)(_names + capacity);
        for (int i = 0; i < capacity; i++)
        {
            _Iovecs[i].Base = _buffers + (long)i * slotSize;
            _names[i].Family = Libc.AF_INET;
            ref Msghdr h = ref _messages[i].Header;
            h.Iov = _Iovecs + i;
            h.IovLength = 1;
            h.Name = _names + i;
            h.NameLength = (uint)sizeof(SockaddrIn);
        }
    }

    public Span<byte> Acquire(uint destination, int length)
    {
        if (length > _slotSize) return default;
        if (_count == _capacity) Flush();
        _names[_count].Address = BinaryPrimitives.ReverseEndianness(destination);
        _Iovecs[_count].Length = (nuint)length;
        _acquiredLength = length;
        return new Span<byte>(_buffers + (long)_count * _slotSize, length);
    }

    public void Commit()
    {
        if (_acquiredLength < 0) throw new InvalidOperationException("Commit without Acquire");
        Ipv4Header.KeepFragmentIdThroughRawSocket(new Span<byte>(_buffers + (long)_count * _slotSize, _acquiredLength));
        _acquiredLength = -1;
        _count++;
    }

    public void Flush()
    {
        int sent = 0;
        while (sent < _count)
        {
            int n = Libc.sendmmsg(_fd, _messages + sent, (uint)(_count - sent), 0);
            Batches++;
            if (n > 0) { sent += n; continue; }
            int errno = Libc.LastError;
            if (n < 0 && errno == Libc.EINTR) continue;
            // The packet at `sent` was refused (no route, too big, ...): count it, skip it, send the rest.
            LastSendError = errno;
            SendErrors++;
            sent++;
        }
        _count = 0;
    }

    public void Dispose()
    {
        Libc.close(_fd);
        NativeMemory.AlignedFree(_memory);
    }
}
