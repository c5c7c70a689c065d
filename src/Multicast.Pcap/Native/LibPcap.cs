using System.Reflection;
using System.Runtime.InteropServices;

namespace Multicast.Pcap.Native;

/// <summary>pcap_pkthdr as the C library lays it out: the timeval is 16 bytes on 64-bit Unix, 8 on Windows.</summary>
public static unsafe class PcapRecordHeader
{
    private static readonly int CaptureLengthOffset = OperatingSystem.IsWindows() ? 8 : 16;

    /// <summary>Size of the record header in an Npcap send queue (Windows pcap_pkthdr).</summary>
    public const int WindowsSize = 16;

    public static int CapturedLength(byte* header) => *(int*)(header + CaptureLengthOffset);
    public static int WireLength(byte* header) => *(int*)(header + CaptureLengthOffset + 4);

    /// <summary>The capture time in ns since the epoch (the header's timeval: two longs on 64-bit Unix, two ints on Windows).</summary>
    public static long CapturedAtNs(byte* header) => OperatingSystem.IsWindows()
        ? *(int*)header * 1_000_000_000L + *(int*)(header + 4) * 1000L
        : *(long*)header * 1_000_000_000L + *(long*)(header + 8) * 1000L;
}

/// <summary>
/// The few libpcap/Npcap calls SharpPcap does not expose allocation-free. They run on the handle SharpPcap opened
/// (PcapDevice.Handle), so opening, device lists and filter compilation stay SharpPcap's job.
/// </summary>
public static unsafe partial class LibPcap
{
    private const string Library = "pcap";

    public const int DirectionIn = 1; // PCAP_D_IN
    public const int DirectionOut = 2; // PCAP_D_OUT
    public const int DltEthernet = 1; // DLT_EN10MB

    static LibPcap() => NativeLibrary.SetDllImportResolver(typeof(LibPcap).Assembly, Resolve);

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name != Library) return IntPtr.Zero;
        foreach (string candidate in Candidates())
            if (NativeLibrary.TryLoad(candidate, out IntPtr handle)) return handle;
        return IntPtr.Zero;
    }

    private static IEnumerable<string> Candidates()
    {
        if (OperatingSystem.IsWindows())
        {
            // Npcap installs outside the default search path unless its WinPcap-compatible mode was chosen.
            yield return Path.Combine(Environment.SystemDirectory, "Npcap", "wpcap.dll");
            yield return "wpcap.dll";
        }
        else if (OperatingSystem.IsMacOS()) yield return "libpcap.dylib";
        else
        {
            yield return "libpcap.so.1";
            yield return "libpcap.so.0.8";
            yield return "libpcap.so";
        }
    }

    [LibraryImport(Library, EntryPoint = "pcap_dispatch")]
    public static partial int Dispatch(IntPtr pcap, int count, delegate* unmanaged[Cdecl]<byte*, byte*, byte*, void> callback, byte* user);

    [LibraryImport(Library, EntryPoint = "pcap_next_ex")]
    public static partial int NextEx(IntPtr pcap, byte** header, byte** data);

    [LibraryImport(Library, EntryPoint = "pcap_breakloop")]
    public static partial void BreakLoop(IntPtr pcap);

    [LibraryImport(Library, EntryPoint = "pcap_setdirection")]
    public static partial int SetDirection(IntPtr pcap, int direction);

    [LibraryImport(Library, EntryPoint = "pcap_datalink")]
    public static partial int DataLink(IntPtr pcap);

    /// <summary>struct pcap_stat: ps_recv, ps_drop, ps_ifdrop (u_int each; Npcap appends one more).</summary>
    [LibraryImport(Library, EntryPoint = "pcap_stats")]
    public static partial int Stats(IntPtr pcap, uint* stat);

    [LibraryImport(Library, EntryPoint = "pcap_sendpacket")]
    public static partial int SendPacket(IntPtr pcap, byte* data, int size);

    [LibraryImport(Library, EntryPoint = "pcap_geterr")]
    private static partial byte* GetErrorPointer(IntPtr pcap);

    public static string Error(IntPtr pcap) => Marshal.PtrToStringUTF8((IntPtr)GetErrorPointer(pcap)) ?? "unknown pcap error";

    // Npcap only (Windows): send queues transmit a whole batch of frames with one call into the driver.
    [LibraryImport(Library, EntryPoint = "pcap_sendqueue_alloc")]
    public static partial SendQueue* SendQueueAlloc(uint memorySize);

    [LibraryImport(Library, EntryPoint = "pcap_sendqueue_destroy")]
    public static partial void SendQueueDestroy(SendQueue* queue);

    [LibraryImport(Library, EntryPoint = "pcap_sendqueue_transmit")]
    public static partial uint SendQueueTransmit(IntPtr pcap, SendQueue* queue, int synchronize);
}

/// <summary>Npcap's struct pcap_send_queue: records (pcap_pkthdr + frame) packed back to back in Buffer.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct SendQueue
{
    public uint MaxLength;
    public uint Length;
    public byte* Buffer;
}
