namespace Multicast.Linux.Ring;

/// <summary>
/// An AF_PACKET TPACKET_V2 TX ring with fixed-size frames, optionally bypassing the qdisc layer. Single producer.
/// </summary>
public sealed unsafe class TxRing : IDisposable
{
    private nint _handle;

    private TxRing(nint handle, int frameCount)
    {
        _handle = handle;
        Capacity = (int)Shim.TxCapacity(handle);
        FrameCount = frameCount;
    }

    /// <summary>Frames in the ring: how many copies can be queued or in flight at once.</summary>
    public int FrameCount { get; }

    /// <summary>Bytes per frame for the link-layer frame.</summary>
    public int Capacity { get; }

    /// <summary>1 = PACKET_QDISC_BYPASS applied, 0 = not requested, negative errno = refused.</summary>
    public int QdiscBypassStatus => Shim.TxQdiscBypass(Handle);

    /// <summary>1 = frames are copied linear into the kernel's buffer (PACKET_VNET_HDR), negative errno = refused (zero copy).</summary>
    public int LinearCopyStatus => Shim.TxLinear(Handle);

    public static TxRing Open(int ifindex, int mtu, int frameCount = 2048, bool qdiscBypass = true)
    {
        uint frameSize = RxRingOptions.FrameSizeFor(mtu);
        int perPage = Math.Max(1, Environment.SystemPageSize / (int)frameSize);
        frameCount = (frameCount + perPage - 1) / perPage * perPage;
        ShimException.Check(Shim.TxOpen(ifindex, frameSize, (uint)frameCount, qdiscBypass ? 1 : 0, out nint handle), "TX ring");
        return new TxRing(handle, frameCount);
    }

    /// <summary>The next free frame (the same one until <see cref="Ready"/>), or null when the ring is full.</summary>
    public byte* NextFrame() => Shim.TxFrame(Handle);

    /// <summary>Queues the frame from <see cref="NextFrame"/> with <paramref name="length"/> bytes.</summary>
    public void Ready(int length) => Shim.TxReady(Handle, (uint)length);

    /// <summary>
    /// For a full ring, after a <see cref="Kick"/>: waits up to <paramref name="timeoutMicroseconds"/> for the next
    /// frame to be free again (its copy sent), yielding the CPU meanwhile. False on timeout.
    /// </summary>
    public bool WaitForFreeFrame(int timeoutMicroseconds) => Shim.TxWait(Handle, (uint)timeoutMicroseconds) == 1;

    /// <summary>Frames queued since the last successful kick.</summary>
    public int Pending => (int)Shim.TxPending(Handle);

    /// <summary>Transmits queued frames without blocking: bytes sent, or a negative errno (counted in the stats).</summary>
    public int Kick() => Shim.TxKick(Handle);

    public TxRingStats ReadStatistics()
    {
        Shim.TxStats(Handle, out TxRingStats s);
        return s;
    }

    private nint Handle => _handle != 0 ? _handle : throw new ObjectDisposedException(nameof(TxRing));

    public void Dispose()
    {
        nint h = Interlocked.Exchange(ref _handle, 0);
        if (h != 0) Shim.TxClose(h);
    }
}
