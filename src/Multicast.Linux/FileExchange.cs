using System.Runtime.InteropServices;

namespace Multicast.Linux;

/// <summary>
/// renameat2(RENAME_EXCHANGE): swaps two existing names in one atomic step. A file rewritten by "write a temporary,
/// rename it over the old one" allocates an inode and frees one on every write, which on ext4 is ~0.3 ms of kernel
/// time that nothing on the CPU can preempt on a PREEMPT_NONE kernel; swapping two files that both stay allocated
/// gives readers the same all-or-nothing view without that churn.
/// </summary>
public static partial class FileExchange
{
    private const int AtFdCwd = -100;
    private const uint RenameExchange = 2;
    private const int ENOENT = 2;

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int renameat2(int oldDirFd, string oldPath, int newDirFd, string newPath, uint flags);

    public enum Result { Exchanged, Missing, Unsupported }

    /// <summary>
    /// Swaps <paramref name="a"/> and <paramref name="b"/>. Missing: one of them does not exist (nothing changed);
    /// Unsupported: the file system or libc cannot exchange (EINVAL, ENOSYS, EPERM…): the caller falls back to a rename.
    /// </summary>
    public static Result Exchange(string a, string b)
    {
        try
        {
            if (renameat2(AtFdCwd, a, AtFdCwd, b, RenameExchange) == 0) return Result.Exchanged;
        }
        catch (EntryPointNotFoundException)
        {
            return Result.Unsupported; // glibc before 2.28, or a libc without the wrapper
        }
        return Marshal.GetLastPInvokeError() == ENOENT ? Result.Missing : Result.Unsupported;
    }
}
