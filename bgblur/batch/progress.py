"""One progress bar over a whole folder run: frames done out of the library's frames (estimated until every file
has started: files not yet opened count as the average of those that have), files done, ETA."""

from __future__ import annotations

from tqdm import tqdm

from bgblur.run.files import progress_bar


class LibraryBar:
    def __init__(self, files: int, enabled: bool = True) -> None:
        self.files = files
        self.started = 0
        self.finished = 0
        self.known_frames = 0  # frame counts of the files started so far
        self.bar = progress_bar(None, enabled)  # the total is known once the first file is open
        self._retotal()

    def _retotal(self) -> None:
        if self.started:
            average = self.known_frames / self.started
            self.bar.total = max(self.bar.n, round(self.known_frames + average * (self.files - self.started)))
        self.bar.set_description(f"bgblur {self.finished}/{self.files} files", refresh=False)
        self.bar.refresh()

    def start(self, frame_count: int) -> None:
        """A worker opened a file of ``frame_count`` frames."""
        self.started += 1
        self.known_frames += frame_count
        self._retotal()

    def frames(self, count: int) -> None:
        self.bar.update(count)

    def finish(self, frames: int | None = None) -> None:
        """A file ended; ``frames``: its frame count when no start was reported (Ray tasks report only at the end)."""
        self.finished += 1
        if frames is not None:
            self.start(frames)
            self.bar.update(frames)
        self._retotal()

    def write(self, line: str) -> None:
        """A line on stderr that does not break the bar."""
        import sys

        tqdm.write(line, file=sys.stderr)

    def close(self) -> None:
        self.bar.close()
