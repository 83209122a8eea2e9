import { useState, type DragEvent, type RefObject } from "react";
import { importApi } from "../import-api.ts";
import { fileSize } from "../format.ts";

const accept = ".csv,.txt,.tsv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/** The file chosen: in the browser, or (`file` null) only as the server keeps it, after a new sign-in. */
export interface ChosenFile {
  name: string;
  size: number;
  file: File | null;
}

/** Where the admin drops or chooses the file, with the templates to start one from. */
export function ImportFileDrop({ workspace, file, input, onChoose }: { workspace: string; file: ChosenFile | null; input: RefObject<HTMLInputElement | null>; onChoose: (file: File | null | undefined) => void }) {
  const [dragging, setDragging] = useState(false);
  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    onChoose(event.dataTransfer.files[0]);
  };
  return (
    <div
      className={`drop-zone${dragging ? " dragging" : ""}`}
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
    >
      <p>
        <strong>{file ? file.name : "Drop a CSV or Excel (.xlsx) file here"}</strong>
        {file ? <span className="muted"> · {fileSize(file.size)}</span> : null}
        {file && !file.file ? <span className="muted"> · kept on the server</span> : null}
      </p>
      <input ref={input} id="import-file" type="file" accept={accept} className="visually-hidden" onChange={(e) => onChoose(e.target.files?.[0])} />
      <label htmlFor="import-file" className="btn">
        {file ? "Choose another file" : "Choose a file"}
      </label>
      <p className="hint small">
        Columns are matched by their headings (Email, Display name, First name, Mobile phone, Card number, Groups…). Get a{" "}
        <a href={importApi.templateUrl(workspace, "csv")} download>
          CSV template
        </a>{" "}
        or an{" "}
        <a href={importApi.templateUrl(workspace, "xlsx")} download>
          Excel template
        </a>
        .
      </p>
    </div>
  );
}
