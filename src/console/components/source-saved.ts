import { navigate } from "../router.tsx";
import { wsPath } from "../session.tsx";
import { useToast } from "./ui.tsx";

/** A source's page once its settings are saved: a toast, then the page again (at its new address when renamed). */
export function useSourceSaved(workspace: string, name: string, reload: () => void): (saved: { name: string }) => void {
  const toast = useToast();
  return (saved) => {
    toast("Source saved");
    if (saved.name === name) reload();
    else navigate(wsPath(workspace, `/sync/${encodeURIComponent(saved.name)}`), { replace: true });
  };
}
