using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace Multicast.Linux.Ring;

/// <summary>
/// Finds libmcshim.so next to the application (publish output, test output) instead of only on the system library
/// path, where it is never installed.
/// </summary>
internal static class ShimLibrary
{
    public const string Name = "mcshim";
    private const string FileName = "libmcshim.so";
    private static int _registered;

    public static void EnsureResolver()
    {
        if (Interlocked.Exchange(ref _registered, 1) != 0) return;
        Assembly assembly = typeof(ShimLibrary).Assembly;
        try
        {
            NativeLibrary.SetDllImportResolver(assembly, (name, _, _) => name == Name ? Load() : IntPtr.Zero);
        }
        catch (InvalidOperationException)
        {
            // Another part of this assembly owns the per-assembly resolver; the load-context event is the
            // multi-subscriber fallback, consulted after default probing fails.
            AssemblyLoadContext.Default.ResolvingUnmanagedDll += (a, name) => a == assembly && name == Name ? Load() : IntPtr.Zero;
        }
    }

    private static IntPtr Load()
    {
        foreach (string? dir in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(typeof(ShimLibrary).Assembly.Location) })
        {
            if (string.IsNullOrEmpty(dir)) continue;
            string path = Path.Combine(dir, FileName);
            if (File.Exists(path) && NativeLibrary.TryLoad(path, out IntPtr handle)) return handle;
        }
        return NativeLibrary.TryLoad(FileName, out IntPtr fallback) ? fallback : IntPtr.Zero;
    }
}
