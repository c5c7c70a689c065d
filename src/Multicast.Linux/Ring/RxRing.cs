using Multicast.Core.Filters;

namespace Multicast.Linux.Ring;

/// <summary>
/// An AF_PACKET RX ring on one interface with a classic-BPF filter attached before any frame can arrive.
/// Single consumer: Wait/Walk/Release belong to one thread; SetFilter may be called from any thread.
/// </summary>
public sealed unsafe class RxRing : IDisposable
{
    private nint _handle;

    private RxRing(nint handle, int version, long bytes)
    {
        _handle = handle;
        Version = version;
        Bytes = bytes;
    }

    public int Version { get; }

    /// <summary>The ring's memory: what a backlog can fill before the kernel drops frames.</summary>
    public long Bytes { get; }

    /// <summary>1 = PACKET_IGNORE_OUTGOING applied, 0 = not requested, negative errno = the kernel refused it.</summary>
    public int IgnoreOutgoingStatus => Shim.RxIgnoreOutgoing(Handle);

    public static RxRing Open(int ifindex, int mtu, RxRingOptions options, ReadOnlySpan<BpfInstruction> filter, bool ignoreOutgoing)
    {
        uint frameSize = RxRingOptions.FrameSizeFor(mtu);
        uint blockSize, blockCount;
        if (options.Version == 3)
        {
            blockSize = Math.Max(System.Numerics.BitOperations.RoundUpToPowerOf2((uint)options.V3BlockSize), frameSize);
            blockCount = (uint)Math.Max(4, options.RingBytes / (int)blockSize);
        }
        else
        {
            blockSize = Math.Max((uint)Environment.SystemPageSize, frameSize);
            blockCount = (uint)Math.Max(8, options.RingBytes / (int)blockSize);
        }
        nint handle;
        fixed (BpfInstruction* program = filter)
        {
            int r = Shim.RxOpen(ifindex, options.Version, blockSize, blockCount, frameSize, (uint)options.V3BlockTimeoutMs,
                program, checked((ushort)filter.Length), ignoreOutgoing ? 1 : 0, out handle);
            ShimException.Check(r, "RX ring");
        }
        return new RxRing(handle, options.Version, (long)blockSize * blockCount);
    }

    /// <summary>Replaces the filter atomically (frames already in the ring passed the old one).</summary>
    public void SetFilter(ReadOnlySpan<BpfInstruction> filter)
    {
        fixed (BpfInstruction* program = filter)
            ShimException.Check(Shim.RxSetFilter(Handle, program, checked((ushort)filter.Length)), "RX filter");
    }

    /// <summary>Parks until frames may be ready or the timeout passes: 1, 0, or a negative errno (error reported once).</summary>
    public int Wait(int timeoutMs) => Shim.RxWait(Handle, timeoutMs);

    /// <summary>Fills <paramref name="frames"/> with ready frames; they stay valid until <see cref="Release"/>.</summary>
    public int Walk(Span<RingFrame> frames)
    {
        fixed (RingFrame* p = frames) return Shim.RxWalk(Handle, p, frames.Length);
    }

    public void Release() => Shim.RxRelease(Handle);

    /// <summary>Frames the kernel queued and dropped (ring full) since the previous call.</summary>
    public (ulong Packets, ulong Drops) ReadStatistics()
    {
        ShimException.Check(Shim.RxStats(Handle, out ShimRxStats s), "RX statistics");
        return (s.Packets, s.Drops);
    }

    private long _drops;
    private readonly object _statsLock = new();

    /// <summary>Ring-full drops accumulated since the ring opened (the kernel's counter resets on every read).</summary>
    public long Drops
    {
        get
        {
            lock (_statsLock)
            {
                if (_handle != 0 && Shim.RxStats(_handle, out ShimRxStats s) >= 0) _drops += (long)s.Drops;
                return _drops;
            }
        }
    }

    private nint Handle => _handle != 0 ? _handle : throw new ObjectDisposedException(nameof(RxRing));

    public void Dispose()
    {
        lock (_statsLock)
        {
            nint h = Interlocked.Exchange(ref _handle, 0);
            if (h != 0) Shim.RxClose(h);
        }
    }
}
