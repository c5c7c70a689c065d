using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Multicast.Pcap.Native;
using SharpPcap;
using SharpPcap.LibPcap;

namespace Multicast.Pcap;

/// <summary>Receives the frames of one capture batch; runs on the capture thread.</summary>
public interface IFrameSink
{
    /// <param name="frame">The captured bytes, link header first.</param>
    /// <param name="truncated">Snap length cut the frame short.</param>
    /// <param name="capturedAtNs">When it was captured (the record header's stamp), in ns since the epoch.</param>
    void OnFrame(ReadOnlySpan<byte> frame, bool truncated, long capturedAtNs);

    /// <summary>End of a pcap_dispatch batch (or a read timeout): the moment to transmit what was queued.</summary>
    void EndBatch();
}

/// <summary>
/// One pcap capture opened and filtered through SharpPcap, read allocation-free on its native handle: pcap_dispatch
/// with an unmanaged callback delivers a whole buffer per call, which is also the natural TX batch boundary.
/// The filter is replaced only on the capture thread between batches (libpcap handles are not thread-safe);
/// <see cref="SetFilter"/> from another thread queues it and breaks the current dispatch.
/// </summary>
public sealed unsafe class PcapCapture : IDisposable
{
    private readonly ILogger _logger;
    private readonly object _filterLock = new();
    private string? _pendingFilter;
    private bool _running;
    private GCHandle _self;
    private IFrameSink? _sink;
    private Exception? _callbackError;

    public LibPcapLiveDevice Device { get; }
    public IntPtr Handle { get; }
    public string Filter { get; private set; } = "";
    /// <summary>Filters installed so far (constructor included).</summary>
    public int FilterChanges;
    public long Batches;
    private long _drops;
    private long _statsAt;

    /// <summary>
    /// Frames the kernel/driver dropped because the capture buffer was full (pcap_stats ps_drop + ps_ifdrop), read by
    /// the capture thread about once a second: libpcap handles must not be queried from other threads.
    /// </summary>
    public long Drops => Interlocked.Read(ref _drops);

    /// <summary>The capture buffer asked for by default: bursts of a busy host fit, at the price of a deep queue.</summary>
    public const int DefaultBufferBytes = 32 << 20;

    /// <summary>The capture buffer asked of libpcap (it reports no granted size).</summary>
    public long BufferBytes { get; }

    /// <param name="direction">
    /// <see cref="LibPcap.DirectionOut"/> / <see cref="LibPcap.DirectionIn"/> to capture only what this host sends or
    /// receives (pcap_setdirection: libpcap on Linux; Npcap cannot), null for both.
    /// </param>
    /// <param name="mtu">
    /// Sizes the snap length: libpcap's ring frames are as large as the snap length, so a 64 KiB snap length would
    /// leave room for only a hundred-odd frames and drop bursts. Longer frames are reported truncated (and counted).
    /// </param>
    /// <param name="bufferBytes">libpcap's capture buffer (pcap_set_buffer_size; on Linux the memory of its ring); null =
    /// <see cref="DefaultBufferBytes"/>.</param>
    public PcapCapture(LibPcapLiveDevice device, string filter, int? direction, ILogger logger, int mtu, int readTimeoutMs = 100,
        int? bufferBytes = null)
    {
        _logger = logger;
        Device = device;
        var config = new DeviceConfiguration
        {
            Mode = DeviceModes.MaxResponsiveness,
            Snaplen = Math.Max(mtu, 1500) + 18, // Ethernet + one VLAN tag
            ReadTimeout = readTimeoutMs,
            Immediate = true,
            BufferSize = bufferBytes ?? DefaultBufferBytes,
        };
        BufferBytes = bufferBytes ?? DefaultBufferBytes;
        config.ConfigurationFailed += (_, e) => logger.LogDebug("pcap option {Property} not applied: {Message}", e.Property, e.Message);
        device.Open(config);
        try
        {
            Handle = device.Handle.DangerousGetHandle();
            if (LibPcap.DataLink(Handle) != LibPcap.DltEthernet)
                throw new NotSupportedException($"{device.Name}: link type {LibPcap.DataLink(Handle)} is not Ethernet; the pcap engine frames Ethernet");
            if (direction is int d && LibPcap.SetDirection(Handle, d) != 0)
                throw new InvalidOperationException($"{device.Name}: pcap_setdirection({d}): {LibPcap.Error(Handle)}");
            Install(filter);
            _self = GCHandle.Alloc(this);
        }
        catch
        {
            device.Close();
            throw;
        }
    }

    /// <summary>Replaces the filter: at once when no loop runs, else between batches of the capture thread.</summary>
    public void SetFilter(string filter)
    {
        lock (_filterLock)
        {
            // Replacing a filter costs libpcap's discard of what is queued: never do it for nothing.
            if ((_pendingFilter ?? Filter) == filter) return;
            if (!_running) { Install(filter); return; }
            _pendingFilter = filter;
        }
        LibPcap.BreakLoop(Handle);
    }

    private void Install(string filter)
    {
        // SharpPcap compiles with the device's netmask and installs it (pcap_compile + pcap_setfilter).
        Device.Filter = filter;
        Filter = filter;
        Interlocked.Increment(ref FilterChanges);
        _logger.LogDebug("{Device}: capture filter {Filter}", Device.Name, filter);
    }

    public void Run(IFrameSink sink, CancellationToken stop)
    {
        lock (_filterLock) _running = true;
        using CancellationTokenRegistration registration = stop.Register(() => LibPcap.BreakLoop(Handle));
        try
        {
            while (!stop.IsCancellationRequested) DispatchOnce(sink);
        }
        finally
        {
            lock (_filterLock) _running = false;
            InstallPending();
        }
    }

    /// <summary>
    /// One pcap_dispatch: every frame already buffered (or waits up to the read timeout for the first), then
    /// <see cref="IFrameSink.EndBatch"/>. Returns the number of frames. Allocates nothing.
    /// </summary>
    public int DispatchOnce(IFrameSink sink)
    {
        InstallPending();
        _sink = sink;
        int n = LibPcap.Dispatch(Handle, -1, &OnPacket, (byte*)GCHandle.ToIntPtr(_self));
        if (_callbackError is { } error)
        {
            _callbackError = null;
            throw new InvalidOperationException("capture callback failed", error);
        }
        if (n == -1) throw new InvalidOperationException($"{Device.Name}: pcap_dispatch: {LibPcap.Error(Handle)}");
        Batches++;
        sink.EndBatch();
        long now = Environment.TickCount64;
        if (now - _statsAt >= 1000) ReadStatistics(now);
        return Math.Max(n, 0);
    }

    private void ReadStatistics(long now)
    {
        _statsAt = now;
        uint* stat = stackalloc uint[8];
        if (LibPcap.Stats(Handle, stat) == 0) Interlocked.Exchange(ref _drops, (long)stat[1] + stat[2]);
    }

    private void InstallPending()
    {
        lock (_filterLock)
        {
            if (_pendingFilter is null) return;
            string filter = _pendingFilter;
            _pendingFilter = null;
            try { Install(filter); }
            catch (PcapException e) { _logger.LogError("{Device}: filter not installed, keeping {Old}: {Message}", Device.Name, Filter, e.Message); }
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnPacket(byte* user, byte* header, byte* data)
    {
        var capture = (PcapCapture)GCHandle.FromIntPtr((IntPtr)user).Target!;
        try
        {
            int captured = PcapRecordHeader.CapturedLength(header);
            capture._sink!.OnFrame(new ReadOnlySpan<byte>(data, captured), captured < PcapRecordHeader.WireLength(header),
                PcapRecordHeader.CapturedAtNs(header));
        }
        catch (Exception e)
        {
            // An exception must not unwind into libpcap: stop the loop and rethrow on the managed side.
            capture._callbackError = e;
            LibPcap.BreakLoop(capture.Handle);
        }
    }

    public void Dispose()
    {
        Device.Close();
        if (_self.IsAllocated) _self.Free();
    }
}
