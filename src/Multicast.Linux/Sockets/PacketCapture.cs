using Microsoft.Extensions.Logging;
using Multicast.Core.Filters;

namespace Multicast.Linux.Sockets;

/// <summary>
/// A cooked (SOCK_DGRAM) AF_PACKET socket on one interface: frames arrive network header first, with
/// PACKET_AUXDATA telling whether the checksum is still pending offload. The filter is attached before the socket is
/// bound to a protocol, so it never queues an unfiltered frame.
/// </summary>
internal sealed unsafe class PacketCapture : IDisposable
{
    private int _fd;
    private readonly ReceiveBatch _batch;
    private readonly ILogger _logger;

    public string InterfaceName { get; }

    /// <summary>The receive buffer asked for by default (the kernel doubles it for its bookkeeping).</summary>
    public const int DefaultBufferBytes = 8 << 20;

    /// <param name="bufferBytes">The socket's receive buffer (SO_RCVBUFFORCE, so net.core.rmem_max does not cap it);
    /// null = <see cref="DefaultBufferBytes"/>.</param>
    /// <param name="timestamps">Ask for each frame's capture time (SO_TIMESTAMPNS): <see cref="ReceiveBatch.Control"/>.</param>
    public PacketCapture(string interfaceName, BpfInstruction[] filter, bool ignoreOutgoing, ILogger logger, int batchSize = 64,
        int? bufferBytes = null, bool timestamps = false)
    {
        InterfaceName = interfaceName;
        _logger = logger;
        int ifIndex = SocketOps.InterfaceIndex(interfaceName);
        // Protocol 0: the socket receives nothing until bound with ETH_P_ALL below, after the filter is in place.
        _fd = SocketOps.Open(Libc.AF_PACKET, Libc.SOCK_DGRAM, 0, $"AF_PACKET on {interfaceName}");
        try
        {
            SocketOps.AttachFilter(_fd, filter);
            SocketOps.SetInt(_fd, Libc.SOL_PACKET, Libc.PACKET_AUXDATA, 1, "PACKET_AUXDATA");
            if (timestamps) SocketOps.SetInt(_fd, Libc.SOL_SOCKET, Libc.SO_TIMESTAMPNS, 1, "SO_TIMESTAMPNS");
            if (ignoreOutgoing) IgnoresOutgoing = SocketOps.TrySetInt(_fd, Libc.SOL_PACKET, Libc.PACKET_IGNORE_OUTGOING, 1);
            SocketOps.SetBuffer(_fd, receive: true, bufferBytes ?? DefaultBufferBytes);
            BufferBytes = SocketOps.GetInt(_fd, Libc.SOL_SOCKET, Libc.SO_RCVBUF);
            SocketOps.SetReceiveTimeout(_fd, TimeSpan.FromMilliseconds(200));
            SocketOps.BindPacket(_fd, ifIndex, Libc.ETH_P_ALL, interfaceName);
        }
        catch
        {
            SocketOps.Close(ref _fd);
            throw;
        }
        _batch = new ReceiveBatch(batchSize, 65536);
    }

    /// <summary>The receive buffer the kernel granted (SO_RCVBUF: twice what was asked, for its own bookkeeping).</summary>
    public long BufferBytes { get; }

    /// <summary>Whether the kernel accepted PACKET_IGNORE_OUTGOING (Linux 4.20+); the filter covers it otherwise.</summary>
    public bool IgnoresOutgoing { get; }

    public ReceiveBatch Batch => _batch;

    public void ReplaceFilter(BpfInstruction[] filter) => SocketOps.AttachFilter(_fd, filter);

    private long _drops;
    private readonly object _statsLock = new();

    /// <summary>
    /// Frames the kernel dropped because the socket's queue was full. PACKET_STATISTICS resets on every read, so the
    /// reads are summed here.
    /// </summary>
    public long Drops
    {
        get
        {
            lock (_statsLock)
            {
                if (_fd < 0) return _drops;
                (uint Packets, uint Drops) stats;
                uint length = (uint)sizeof((uint, uint));
                if (Libc.getsockopt(_fd, Libc.SOL_PACKET, Libc.PACKET_STATISTICS, &stats, &length) == 0) _drops += stats.Drops;
                return _drops;
            }
        }
    }

    /// <summary>
    /// Blocks until at least one frame arrives (or the 200 ms receive timeout passes), then takes whatever else is
    /// already queued, up to the batch size. Returns the number of frames, 0 on timeout or while the interface is down.
    /// </summary>
    public int Receive()
    {
        _batch.Reset();
        int n = Libc.recvmmsg(_fd, _batch.Messages, (uint)_batch.Capacity, Libc.MSG_WAITFORONE, null);
        if (n >= 0) return n;
        int errno = Libc.LastError;
        if (errno is Libc.EAGAIN or Libc.EINTR) return 0;
        if (errno == Libc.ENETDOWN)
        {
            // Said once per time the link goes down; the socket stays bound to the interface's index and the kernel
            // hooks it up again when the link comes back, so the engine just keeps receiving.
            _logger.LogWarning("{Interface} went down; capturing again once it is back up", InterfaceName);
            return 0;
        }
        SocketOps.Fail($"recvmmsg on {InterfaceName}", errno);
        return 0;
    }

    public void Dispose()
    {
        lock (_statsLock) SocketOps.Close(ref _fd);
        _batch.Dispose();
    }
}
