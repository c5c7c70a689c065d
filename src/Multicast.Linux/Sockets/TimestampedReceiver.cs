using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Multicast.Linux.Sockets;

/// <summary>What one <see cref="TimestampedReceiver.Receive"/> returned besides the bytes.</summary>
public readonly record struct ReceivedDatagram(int Length, uint SourceAddress, int SourcePort, uint DestinationAddress, long KernelReceiveNs);

/// <summary>
/// recvmsg on a UDP socket with the kernel's software receive timestamp (SO_TIMESTAMPNS, CLOCK_REALTIME, taken when the
/// datagram entered the host's receive path, i.e. arrived at its interface) and the destination address (IP_PKTINFO).
/// The time a receiver reads a datagram minus that timestamp is the receiving host's own wait (its stack, its
/// scheduler); the timestamp minus the sender's stamp is the path between the two hosts. One native block holds the
/// msghdr, iovec, address and control area, so a receive allocates nothing.
/// </summary>
public sealed unsafe class TimestampedReceiver : IDisposable
{
    private const int ControlSize = 128; // CMSG_SPACE(timespec) 32 + CMSG_SPACE(in_pktinfo) 32, with room to spare
    private const int IpPktInfo = 8;
    private readonly int _fd;
    private readonly byte* _memory;
    private readonly Msghdr* _header;
    private readonly Iovec* _iov;
    private readonly SockaddrIn* _from;
    private readonly byte* _control;

    /// <param name="fd">A bound UDP socket; its SO_RCVTIMEO bounds each <see cref="Receive"/>.</param>
    public TimestampedReceiver(nint fd)
    {
        _fd = (int)fd;
        SocketOps.SetInt(_fd, Libc.SOL_SOCKET, Libc.SO_TIMESTAMPNS, 1, "SO_TIMESTAMPNS");
        SocketOps.SetInt(_fd, Libc.IPPROTO_IP, IpPktInfo, 1, "IP_PKTINFO");
        nuint total = (nuint)(sizeof(Msghdr) + sizeof(Iovec) + sizeof(SockaddrIn) + ControlSize);
        _memory = (byte*)NativeMemory.AlignedAlloc(total, 64);
        NativeMemory.Clear(_memory, total);
        _header = (Msghdr*)_memory;
        _iov = (Iovec*)(_header + 1);
        _from = (SockaddrIn*)(_iov + 1);
        _control = (byte*)(_from + 1);
        // Where things go never changes; only the lengths and flags the kernel overwrites are reset per receive.
        _header->Name = _from;
        _header->Iov = _iov;
        _header->IovLength = 1;
        _header->Control = _control;
    }

    /// <summary>Blocks until a datagram arrives or the socket's receive timeout passes (then returns false).</summary>
    /// <exception cref="IOException">recvmsg failed for another reason than the timeout or a signal.</exception>
    public bool Receive(Span<byte> buffer, out ReceivedDatagram datagram)
    {
        datagram = default;
        fixed (byte* data = buffer)
        {
            _iov->Base = data;
            _iov->Length = (nuint)buffer.Length;
            _header->NameLength = (uint)sizeof(SockaddrIn);
            _header->ControlLength = ControlSize;
            _header->Flags = 0;
            long n = Libc.recvmsg(_fd, _header, 0);
            if (n < 0)
            {
                int errno = Libc.LastError;
                if (errno is Libc.EAGAIN or Libc.EINTR) return false;
                throw new IOException($"recvmsg: {Libc.Describe(errno)}");
            }
            (long stampNs, uint destination) = ParseControl();
            datagram = new ReceivedDatagram((int)Math.Min(n, buffer.Length),
                BinaryPrimitives.ReverseEndianness(_from->Address), BinaryPrimitives.ReverseEndianness(_from->Port),
                destination, stampNs);
            return true;
        }
    }

    /// <summary>The SCM_TIMESTAMPNS time (0 when absent) and the IP_PKTINFO destination (host order, 0 when absent).</summary>
    private (long StampNs, uint Destination) ParseControl()
    {
        long stamp = 0;
        uint destination = 0;
        foreach (ControlMessage m in new ControlMessages(_control, _header->ControlLength))
        {
            if (m.Level == Libc.SOL_SOCKET && m.Type == Libc.SO_TIMESTAMPNS && m.Length >= sizeof(Timespec))
            {
                var ts = (Timespec*)m.Data;
                stamp = ts->Seconds * 1_000_000_000L + ts->Nanoseconds;
            }
            else if (m.Level == Libc.IPPROTO_IP && m.Type == IpPktInfo && m.Length >= 12)
            {
                // struct in_pktinfo {int ipi_ifindex; in_addr ipi_spec_dst; in_addr ipi_addr;}: ipi_addr is the header's destination.
                destination = BinaryPrimitives.ReadUInt32BigEndian(new ReadOnlySpan<byte>(m.Data + 8, 4));
            }
        }
        return (stamp, destination);
    }

    public void Dispose() => NativeMemory.AlignedFree(_memory);
}
