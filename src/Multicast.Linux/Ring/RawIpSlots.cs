using Multicast.Core.DataPlane;

namespace Multicast.Linux.Ring;

/// <summary>
/// The ring engine's own slow path until the socket engine's batched sender is available: one IPPROTO_RAW sendto
/// per packet, routed and neighbour-resolved by the kernel (which is what starts ARP for an unresolved next hop).
/// </summary>
public sealed unsafe class RawIpSlots : ITxSlots, IDisposable
{
    private readonly byte[] _buffer = GC.AllocateArray<byte>(65535, pinned: true);
    private int _fd;
    private uint _destination;
    private int _length;

    public long Sent;
    public long Failed;
    public int LastErrno;

    public RawIpSlots() => _fd = ShimException.Check(Shim.IpOpen(), "slow path");

    public Span<byte> Acquire(uint destination, int length)
    {
        if ((uint)length > (uint)_buffer.Length) return default;
        _destination = destination;
        _length = length;
        return _buffer.AsSpan(0, length);
    }

    public void Commit()
    {
        int r;
        fixed (byte* p = _buffer) r = Shim.IpSend(_fd, p, (uint)_length, Shim.ToNetwork(_destination));
        if (r < 0) { Failed++; LastErrno = -r; }
        else Sent++;
    }

    public void Flush() { }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0) Shim.FdClose(fd);
    }
}
